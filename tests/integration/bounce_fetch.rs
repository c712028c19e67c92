//! `newsletter bounces fetch` against a real Dovecot (see `dovecot.rs`):
//! bounces of an issue sent with VERP are put into the mailbox with IMAP
//! APPEND next to unrelated mail; fetch records them, marks or moves them,
//! and leaves everything else exactly as it was.

use crate::bounces::fixtures::{our_message_id, postfix_dsn, PLAIN, VACATION};
use crate::dovecot::{Dovecot, PASSWORD, USER};
use crate::harness::{Run, Sandbox};
use crate::send::{folder, send};
use crate::smtp_server::SmtpServer;
use std::collections::HashMap;

/// A folder that sent the example issue with VERP to three readers, and
/// the envelope sender each got.
fn sent_with_verp() -> (Sandbox, HashMap<String, String>) {
    let server = SmtpServer::builder().start();
    let sb = folder(server.port(), 3, "");
    let cfg = sb.read("newsletter.toml").replace(
        "bounce_address = \"bounces@example.com\"",
        "bounce_address = \"bounces+{token}@example.com\"",
    );
    sb.write("newsletter.toml", cfg);
    send(&sb, &[]).expect_code(0);
    let senders = server
        .messages()
        .into_iter()
        .map(|m| (m.to[0].clone(), m.from.clone()))
        .collect();
    (sb, senders)
}

fn add_imap(sb: &Sandbox, dovecot: &Dovecot, extra: &str, starttls: bool) {
    let (port, security) = if starttls {
        (dovecot.imap_port, "starttls")
    } else {
        (dovecot.imaps_port, "tls")
    };
    let cfg = format!(
        "{}\n[bounces]\nhost = \"localhost\"\nport = {port}\nsecurity = \"{security}\"\nusername = \"{USER}\"\n\
         password_env = \"NEWSLETTER_IMAP_PASSWORD\"\nca_file = \"{}\"\ntimeout_secs = 10\n{extra}\n",
        sb.read("newsletter.toml"),
        dovecot.ca_file().display()
    );
    sb.write("newsletter.toml", cfg);
}

fn fetch(sb: &Sandbox, password: &str) -> Run {
    let mut c = sb.cmd(&["bounces", "fetch"]);
    c.env("NEWSLETTER_IMAP_PASSWORD", password);
    Run::from(c.output().unwrap())
}

fn hard_bounce(to: &str, rcpt: &str, id: &str) -> String {
    postfix_dsn(
        rcpt,
        "5.1.1",
        "550 5.1.1 user unknown",
        &our_message_id("2026-w47", rcpt),
    )
    .replace("To: weekly@news.example.com", &format!("Delivered-To: {to}\nTo: {to}"))
    .replace("<20260303100001.4F1A2B3C4D@mx.example.net>", id)
}

fn has(m: &crate::dovecot::Stored, flag: &str) -> bool {
    m.flags.iter().any(|f| f.contains(flag))
}

#[test]
fn fetch_marks_our_bounces_and_leaves_other_mail_alone() {
    let Some(dovecot) = Dovecot::start() else { return };
    let (sb, env) = sent_with_verp();
    add_imap(&sb, &dovecot, "", false);
    let r0 = "reader0@example.org";
    dovecot.append("INBOX", PLAIN.as_bytes(), None);
    dovecot.append("INBOX", hard_bounce(&env[r0], r0, "<b0@mx>").as_bytes(), None);
    dovecot.append("INBOX", VACATION.as_bytes(), Some("(\\Flagged)"));
    let elsewhere = postfix_dsn(r0, "5.1.1", "550 5.1.1 user unknown", "<CAF=x1@mail.gmail.com>")
        .replace("<20260303100001.4F1A2B3C4D@mx.example.net>", "<other@mx>");
    dovecot.append("INBOX", elsewhere.as_bytes(), None);
    let before = dovecot.messages("INBOX");
    assert_eq!(before.len(), 4);

    let run = fetch(&sb, PASSWORD);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "suppressed reader0@example.org as bounced (1 hard bounce(s), last: userunknown 5.1.1, issue 2026-w47)\n"
    );
    assert!(
        run.stderr.contains(
            "bounces fetch localhost: 4 new, 1 marked processed, 3 left alone: 4 message(s): recorded 1 hard"
        ),
        "{}",
        run.stderr
    );
    assert!(run
        .stderr
        .contains("imap:INBOX UID 4: the returned message <CAF=x1@mail.gmail.com> is not one we sent"));
    let after = dovecot.messages("INBOX");
    assert_eq!(after.len(), 4, "nothing deleted");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.body, b.body, "UID {}: the message itself is untouched", a.uid);
        if a.uid == before[1].uid {
            assert!(has(a, "Seen") && has(a, "$NewsletterProcessed"), "{:?}", a.flags);
        } else {
            assert_eq!(
                a.flags, b.flags,
                "UID {}: unrelated mail keeps its flags (not even \\Seen)",
                a.uid
            );
        }
    }
    // The next run reads only what is new: the same report again counts once.
    dovecot.append("INBOX", hard_bounce(&env[r0], r0, "<b0@mx>").as_bytes(), None);
    let again = fetch(&sb, PASSWORD);
    again.expect_code(0);
    assert_eq!(again.stdout, "");
    assert!(
        again.stderr.contains("1 new, 1 marked processed, 0 left alone: 1 message(s): recorded 0 hard, 0 soft, 0 complaint(s); 1 already recorded"),
        "{}",
        again.stderr
    );
}

#[test]
fn fetch_over_starttls_moves_processed_mail_to_a_folder() {
    let Some(dovecot) = Dovecot::start() else { return };
    let (sb, env) = sent_with_verp();
    add_imap(&sb, &dovecot, "processed = \"move\"\nmove_to = \"Processed\"", true);
    let r1 = "reader1@example.org";
    dovecot.append("INBOX", hard_bounce(&env[r1], r1, "<b1@mx>").as_bytes(), None);
    dovecot.append("INBOX", PLAIN.as_bytes(), None);
    let before = dovecot.messages("INBOX");
    let run = fetch(&sb, PASSWORD);
    run.expect_code(0);
    assert!(
        run.stdout.contains("suppressed reader1@example.org as bounced"),
        "{}",
        run.stdout
    );
    let inbox = dovecot.messages("INBOX");
    assert_eq!(inbox.len(), 1);
    assert_eq!((inbox[0].uid, &inbox[0].body), (before[1].uid, &before[1].body));
    assert_eq!(inbox[0].flags, before[1].flags);
    let moved = dovecot.messages("Processed");
    assert_eq!(moved.len(), 1);
    assert!(String::from_utf8_lossy(&moved[0].body).contains("<b1@mx>"));
}

#[test]
fn delete_removes_only_the_processed_message() {
    let Some(dovecot) = Dovecot::start() else { return };
    let (sb, env) = sent_with_verp();
    add_imap(&sb, &dovecot, "processed = \"delete\"", false);
    let r2 = "reader2@example.org";
    dovecot.append("INBOX", PLAIN.as_bytes(), Some("(\\Deleted)"));
    dovecot.append("INBOX", hard_bounce(&env[r2], r2, "<b2@mx>").as_bytes(), None);
    let run = fetch(&sb, PASSWORD);
    run.expect_code(0);
    let inbox = dovecot.messages("INBOX");
    assert_eq!(
        inbox.len(),
        1,
        "the bounce is gone, and someone else's deletion is not expunged"
    );
    assert!(has(&inbox[0], "Deleted"), "{:?}", inbox[0].flags);
}

#[test]
fn a_refused_login_is_exit_3_and_changes_nothing() {
    let Some(dovecot) = Dovecot::start() else { return };
    let (sb, env) = sent_with_verp();
    add_imap(&sb, &dovecot, "", false);
    let r2 = "reader2@example.org";
    dovecot.append("INBOX", hard_bounce(&env[r2], r2, "<b2@mx>").as_bytes(), None);
    let run = fetch(&sb, "not-the-password");
    run.expect_code(3);
    assert!(
        run.stderr.contains("error: IMAP login as bounces refused"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-password"), "the password is never shown");
    assert_eq!(dovecot.messages("INBOX")[0].flags, Vec::<String>::new());
    assert_eq!(sb.run(&["suppressions"]).stdout, "");
}
