//! TLS for the SMTP transport: STARTTLS and implicit TLS against the
//! in-process server with a throw-away certificate; verification is on.

use crate::smtp_server::SmtpServer;
use lettre::address::Envelope;
use newsletter::config::Security;
use newsletter::transport::smtp::{Cause, Credentials, SmtpConnection, SmtpError, SmtpSettings, Stage};
use std::time::Duration;

struct TestCert {
    cert_pem: String,
    key_pem: String,
}

/// A self-signed certificate for localhost and 127.0.0.1.
fn test_cert() -> TestCert {
    cert_for(&["localhost", "127.0.0.1"])
}

fn cert_for(names: &[&str]) -> TestCert {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).expect("certificate");
    TestCert {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
    }
}

fn settings(port: u16, security: Security, trusted: Option<&TestCert>) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".into(),
        port,
        security,
        allow_insecure: false,
        hello_name: "client.test".into(),
        credentials: None,
        timeout: Duration::from_secs(10),
        extra_root_certs_pem: trusted.map(|c| c.cert_pem.clone().into_bytes()).into_iter().collect(),
    }
}

fn send(s: &SmtpSettings) -> Result<(), SmtpError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = SmtpConnection::connect(s).await?;
            let env = Envelope::new(
                Some("weekly@example.com".parse().unwrap()),
                vec!["reader@example.org".parse().unwrap()],
            )
            .unwrap();
            conn.send(&env, b"Subject: tls\r\n\r\nover TLS").await?;
            conn.quit().await;
            Ok(())
        })
}

fn assert_tls_failure(e: &SmtpError) {
    assert!(e.is_fatal_for_run() && e.stage == Stage::Tls, "{e:?}");
    assert!(matches!(e.cause, Cause::Tls(_)), "{e:?}");
}

fn assert_certificate_rejected(e: &SmtpError) {
    assert_tls_failure(e);
    assert!(e.to_string().contains("certificate"), "{e}");
}

#[test]
fn starttls_rejects_an_untrusted_certificate_and_accepts_a_trusted_root() {
    let cert = test_cert();
    let server = SmtpServer::builder().starttls(&cert.cert_pem, &cert.key_pem).start();
    let e = send(&settings(server.port(), Security::StartTls, None)).unwrap_err();
    assert_certificate_rejected(&e);
    assert_eq!(server.message_count(), 0);

    send(&settings(server.port(), Security::StartTls, Some(&cert))).expect("trusted root accepted");
    assert_eq!(server.messages()[0].data, b"Subject: tls\r\n\r\nover TLS");
}

#[test]
fn starttls_rejects_a_certificate_for_another_name() {
    let cert = cert_for(&["mail.example.net"]);
    let server = SmtpServer::builder().starttls(&cert.cert_pem, &cert.key_pem).start();
    // Trusted, but issued for another name than the one we dial.
    let s = settings(server.port(), Security::StartTls, Some(&cert));
    let e = send(&s).unwrap_err();
    assert_certificate_rejected(&e);
    assert_eq!(server.message_count(), 0);
}

#[test]
fn implicit_tls_rejects_an_untrusted_certificate_and_accepts_a_trusted_root() {
    let cert = test_cert();
    let server = SmtpServer::builder()
        .implicit_tls(&cert.cert_pem, &cert.key_pem)
        .start();
    let e = send(&settings(server.port(), Security::Tls, None)).unwrap_err();
    assert_certificate_rejected(&e);

    send(&settings(server.port(), Security::Tls, Some(&cert))).expect("trusted root accepted");
    assert_eq!(server.message_count(), 1);
}

#[test]
fn starttls_required_but_not_offered_never_falls_back_to_plain_text() {
    let server = SmtpServer::builder().auth("weekly", "pw-must-not-leak").start();
    let mut s = settings(server.port(), Security::StartTls, None);
    s.credentials = Some(Credentials::new("weekly", "pw-must-not-leak"));
    let e = send(&s).unwrap_err();
    assert_tls_failure(&e);
    assert!(e.to_string().contains("does not offer STARTTLS"), "{e}");
}

#[test]
fn auth_after_starttls() {
    let cert = test_cert();
    let server = SmtpServer::builder()
        .starttls(&cert.cert_pem, &cert.key_pem)
        .auth("weekly", "pw-over-tls")
        .start();
    let mut s = settings(server.port(), Security::StartTls, Some(&cert));
    s.credentials = Some(Credentials::new("weekly", "pw-over-tls"));
    send(&s).expect("authenticated over STARTTLS");
    assert_eq!(server.message_count(), 1);
}
