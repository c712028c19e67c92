//! PIPELINING (RFC 2920) against the in-process server: envelope groups and
//! the next envelope written with each content, every reply read back in
//! order when a command of a group is refused, and the one-command-at-a-time
//! path for a server that does not announce it.

use crate::smtp_server::SmtpServer;
use crate::smtp_transport::{block_on, settings};
use lettre::address::Envelope;
use newsletter::transport::smtp::{Cause, SmtpConnection, SmtpError, Stage};
use newsletter::transport::Outgoing;

fn envelope(to: &str) -> Envelope {
    Envelope::new(Some("weekly@example.com".parse().unwrap()), vec![to.parse().unwrap()]).unwrap()
}

/// (envelope, bytes) for `to`, with a dot-led line to exercise stuffing.
fn mail(to: &str) -> (Envelope, Vec<u8>) {
    let body = format!(
        "Subject: for {to}\r\n\r\nHello {to}\r\n.a dot-led line\r\n{}\r\n",
        "x".repeat(3000)
    );
    (envelope(to), body.into_bytes())
}

fn out(m: &(Envelope, Vec<u8>)) -> Outgoing<'_> {
    Outgoing {
        envelope: &m.0,
        bytes: &m.1,
    }
}

/// What one connection did.
struct Sent {
    pipelining: bool,
    results: Vec<Result<(), SmtpError>>,
    usable: bool,
}

/// Sends `msgs` in order over one connection, each announcing the next.
fn send_all(port: u16, msgs: &[(Envelope, Vec<u8>)]) -> Sent {
    block_on(async {
        let mut conn = SmtpConnection::connect(&settings(port)).await.unwrap();
        let mut results = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let next = msgs.get(i + 1).map(out);
            results.push(conn.send_after(out(m), next, &|| true).await);
        }
        let sent = Sent {
            pipelining: conn.pipelining(),
            results,
            usable: conn.is_usable(),
        };
        conn.quit().await;
        sent
    })
}

#[test]
fn a_pipelining_server_gets_groups_and_every_message_intact() {
    let server = SmtpServer::start();
    let msgs: Vec<_> = (0..40).map(|i| mail(&format!("r{i}@example.org"))).collect();
    let sent = send_all(server.port(), &msgs);
    assert!(sent.pipelining);
    assert!(sent.results.iter().all(Result::is_ok), "{:?}", sent.results);
    let got = server.messages();
    assert_eq!(got.len(), 40);
    for ((env, bytes), r) in msgs.iter().zip(&got) {
        assert_eq!(r.to, vec![env.to()[0].to_string()]);
        assert!(r.data == *bytes, "message to {} differs", r.to[0]);
    }
    let (grouped, mails) = server.grouped_mails();
    assert_eq!(mails, 40);
    assert!(grouped >= 30, "only {grouped} of 40 MAIL commands came with their DATA");
    assert_eq!(server.connections(), 1);
}

#[test]
fn without_pipelining_each_command_waits_for_its_reply() {
    let server = SmtpServer::builder().no_pipelining().start();
    let msgs: Vec<_> = (0..10).map(|i| mail(&format!("r{i}@example.org"))).collect();
    let sent = send_all(server.port(), &msgs);
    assert!(!sent.pipelining);
    assert!(sent.results.iter().all(Result::is_ok), "{:?}", sent.results);
    assert_eq!(server.message_count(), 10);
    assert_eq!(server.grouped_mails(), (0, 10));
}

#[test]
fn a_refused_rcpt_in_an_announced_group_fails_only_that_message() {
    let server = SmtpServer::builder()
        .fail_rcpt("b@example.org", "450 4.2.0 try later", 1)
        .fail_rcpt("c@example.org", "550 5.1.1 no such user", 1)
        .start();
    let msgs: Vec<_> = ["a", "b", "c", "d"].map(|n| mail(&format!("{n}@example.org"))).to_vec();
    let sent = send_all(server.port(), &msgs);
    let results = &sent.results;
    assert!(results[0].is_ok() && results[3].is_ok(), "{results:?}");
    let b = results[1].as_ref().unwrap_err();
    assert_eq!(
        (b.stage, b.code(), b.recipient.as_deref()),
        (Stage::Rcpt, Some(450), Some("b@example.org"))
    );
    assert!(b.is_transient());
    let c = results[2].as_ref().unwrap_err();
    assert!(c.mailbox_unknown(), "{c:?}");
    assert!(sent.usable);
    let to: Vec<_> = server.messages().into_iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(to, ["a@example.org", "d@example.org"]);
}

#[test]
fn a_refused_content_leaves_the_next_announced_message_going_through() {
    let server = SmtpServer::builder()
        .fail_data("a@example.org", "554 5.6.0 message rejected", 1)
        .start();
    let msgs: Vec<_> = ["a", "b"].map(|n| mail(&format!("{n}@example.org"))).to_vec();
    let sent = send_all(server.port(), &msgs);
    let results = &sent.results;
    let a = results[0].as_ref().unwrap_err();
    assert!(a.after_data() && !a.maybe_delivered() && a.code() == Some(554), "{a:?}");
    assert!(results[1].is_ok(), "{results:?}");
    assert_eq!(server.messages()[0].to, ["b@example.org"]);
}

#[test]
fn a_connection_lost_after_content_is_maybe_delivered_and_the_next_fails_before_content() {
    let server = SmtpServer::builder().drop_before_data_reply("a@example.org", 1).start();
    let msgs: Vec<_> = ["a", "b"].map(|n| mail(&format!("{n}@example.org"))).to_vec();
    let sent = send_all(server.port(), &msgs);
    let results = &sent.results;
    let a = results[0].as_ref().unwrap_err();
    assert!(a.maybe_delivered(), "{a:?}");
    let b = results[1].as_ref().unwrap_err();
    assert!(b.stage < Stage::Message && !b.maybe_delivered(), "{b:?}");
    assert!(!sent.usable);
    assert_eq!(server.message_count(), 1, "a was stored, b never had content");
}

#[test]
fn a_server_that_hangs_up_after_a_reply_fails_the_announced_message_at_mail() {
    let server = SmtpServer::builder().drop_after(1).start();
    let msgs: Vec<_> = ["a", "b"].map(|n| mail(&format!("{n}@example.org"))).to_vec();
    let sent = send_all(server.port(), &msgs);
    let results = &sent.results;
    assert!(results[0].is_ok());
    let b = results[1].as_ref().unwrap_err();
    assert_eq!(b.stage, Stage::Mail, "{b:?}");
    assert!(b.is_transient() && !b.after_data(), "{b:?}");
    assert_eq!(server.message_count(), 1);
}

#[test]
fn sending_other_than_the_announced_message_is_refused_and_delivers_nothing() {
    let server = SmtpServer::start();
    let (a, b, c) = (mail("a@example.org"), mail("b@example.org"), mail("c@example.org"));
    block_on(async {
        let mut conn = SmtpConnection::connect(&settings(server.port())).await.unwrap();
        conn.send_after(out(&a), Some(out(&b)), &|| true).await.unwrap();
        let e = conn.send_after(out(&c), None, &|| true).await.unwrap_err();
        assert!(matches!(e.cause, Cause::Protocol(_)), "{e:?}");
        assert!(!conn.is_usable());
        conn.quit().await;
    });
    let to: Vec<_> = server.messages().into_iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(to, ["a@example.org"]);
}

/// `newsletter send` end to end: with PIPELINING the envelopes arrive in
/// groups, without it one command at a time; everyone gets one message.
#[test]
fn a_send_pipelines_when_announced_and_not_otherwise() {
    use crate::send::{folder, per_recipient, send, status_json};
    for (server, grouped_expected) in [
        (SmtpServer::start(), true),
        (SmtpServer::builder().no_pipelining().start(), false),
    ] {
        let sb = folder(server.port(), 120, "concurrency = 3");
        send(&sb, &[]).expect_code(0);
        let got = per_recipient(&server);
        assert_eq!((got.len(), server.message_count()), (120, 120));
        let (grouped, mails) = server.grouped_mails();
        assert_eq!(mails, 120);
        if grouped_expected {
            assert!(
                grouped >= 60,
                "only {grouped} of 120 MAIL commands came with their DATA"
            );
        } else {
            assert_eq!(grouped, 0);
        }
        assert_eq!(status_json(&sb)["issues"][0]["sent"], 120);
    }
}
