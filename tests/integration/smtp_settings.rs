//! SMTP settings from `[smtp]`: the security rules, where the password
//! comes from, and that it never shows in Debug or Display.

use crate::smtp_server::SmtpServer;
use crate::smtp_transport::{block_on, settings};
use newsletter::transport::smtp::{SmtpConnection, SmtpSettings};
use std::path::Path;

fn smtp_config(smtp: &str) -> newsletter::config::Smtp {
    let text = format!("[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\n[smtp]\n{smtp}");
    newsletter::config::parse(Path::new("newsletter.toml"), &text)
        .unwrap()
        .smtp
}

#[test]
fn unencrypted_smtp_is_refused_to_a_remote_host() {
    let e = SmtpSettings::from_config(&smtp_config("host = \"smtp.example.com\"\nsecurity = \"none\"\n")).unwrap_err();
    assert!(e.to_string().contains("[smtp] security"), "{e}");
    let ok = SmtpSettings::from_config(&smtp_config(
        "host = \"smtp.example.com\"\nsecurity = \"none\"\nallow_insecure = true\n",
    ));
    assert!(ok.is_ok());
    assert!(SmtpSettings::from_config(&smtp_config("host = \"::1\"\nsecurity = \"none\"\n")).is_ok());

    // Hand-built settings cannot skip the rule either, and nothing is dialled.
    let mut s = settings(25);
    s.host = "192.0.2.1".into();
    let e = block_on(SmtpConnection::connect(&s)).unwrap_err();
    assert!(e.is_fatal_for_run() && e.to_string().contains("[smtp] security"), "{e}");
}

#[test]
fn credentials_over_plaintext_to_a_remote_host_are_refused_even_if_insecure_is_allowed() {
    std::env::set_var("NEWSLETTER_TEST_SMTP_PW_REMOTE", "pw-remote-77");
    let cfg = smtp_config(
        "host = \"mail.example.com\"\nsecurity = \"none\"\nallow_insecure = true\n\
         username = \"u\"\npassword_env = \"NEWSLETTER_TEST_SMTP_PW_REMOTE\"\n",
    );
    let e = SmtpSettings::from_config(&cfg).unwrap_err();
    assert!(e.to_string().contains("[smtp] username"), "{e}");
    assert!(!format!("{e:?}").contains("pw-remote-77"));
}

#[test]
fn password_comes_from_env_or_command_and_is_never_shown() {
    let server = SmtpServer::builder().auth("weekly", "pw-from-env-31").start();
    std::env::set_var("NEWSLETTER_TEST_SMTP_PW", "pw-from-env-31");
    let cfg = smtp_config(&format!(
        "host = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nusername = \"weekly\"\n\
         password_env = \"NEWSLETTER_TEST_SMTP_PW\"\n",
        server.port()
    ));
    let s = SmtpSettings::from_config(&cfg).unwrap();
    assert!(!format!("{s:?}").contains("pw-from-env-31"));
    block_on(SmtpConnection::connect(&s)).expect("the env password authenticates");

    let missing = smtp_config("username = \"u\"\npassword_env = \"NEWSLETTER_TEST_SMTP_PW_UNSET_X\"\n");
    let e = SmtpSettings::from_config(&missing).unwrap_err();
    assert!(
        e.to_string().contains("[smtp] password_env") && e.to_string().contains("NEWSLETTER_TEST_SMTP_PW_UNSET_X"),
        "{e}"
    );

    let server = SmtpServer::builder().auth("weekly", "pw-from-cmd-52").start();
    let cfg = smtp_config(&format!(
        "host = \"localhost\"\nport = {}\nsecurity = \"none\"\nusername = \"weekly\"\n\
         password_command = [\"sh\", \"-c\", \"printf 'pw-from-cmd-52\\\\nsecond line\\\\n'\"]\n",
        server.port()
    ));
    let s = SmtpSettings::from_config(&cfg).unwrap();
    assert!(!format!("{s:?}").contains("pw-from-cmd-52"));
    block_on(SmtpConnection::connect(&s)).expect("the first line of the command's output authenticates");

    let failing =
        smtp_config("username = \"u\"\npassword_command = [\"sh\", \"-c\", \"echo leaked-secret; exit 3\"]\n");
    let e = SmtpSettings::from_config(&failing).unwrap_err();
    assert!(e.to_string().contains("[smtp] password_command"), "{e}");
    assert!(!format!("{e:#}").contains("leaked-secret"), "{e:#}");
}
