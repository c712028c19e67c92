//! `bounces import` and `suppressions` end to end: an issue sent with VERP
//! to the in-process SMTP server, real-looking DSNs and a complaint written
//! for some of its envelope senders, imported (twice), then the suppression
//! list and `status`. Also: refusals met while sending, and bad input that
//! must suppress nobody.

use crate::bounces::fixtures::{arf, our_message_id, postfix_dsn, PLAIN, VACATION};
use crate::harness::{Run, Sandbox};
use crate::send::{folder, send, status_json, ISSUE};
use crate::smtp_server::{SmtpServer, ALWAYS};
use std::collections::HashMap;

const VERP: &str = "bounces+{token}@example.com";

/// The example folder sending to `port`, with VERP.
fn verp_folder(port: u16, n: usize) -> Sandbox {
    let sb = folder(port, n, "");
    let cfg = sb.read("newsletter.toml").replace(
        "bounce_address = \"bounces@example.com\"",
        &format!("bounce_address = \"{VERP}\""),
    );
    sb.write("newsletter.toml", cfg);
    sb
}

fn import(sb: &Sandbox, paths: &[&str]) -> Run {
    let mut args = vec!["bounces", "import"];
    args.extend_from_slice(paths);
    sb.run(&args)
}

/// A DSN as a relay sends it to the envelope sender `to` (VERP), with its own
/// Message-ID `id`; `returned` is the returned message's Message-ID, if any.
fn dsn_to(to: &str, id: &str, rcpt: &str, status: &str, diag: &str, returned: Option<&str>) -> String {
    let mut d = postfix_dsn(rcpt, status, diag, returned.unwrap_or("<none@x>"))
        .replace("To: weekly@news.example.com", &format!("Delivered-To: {to}\nTo: {to}"))
        .replace("<20260303100001.4F1A2B3C4D@mx.example.net>", id);
    if returned.is_none() {
        // Some relays return nothing of the message: only the envelope says whose it was.
        let cut = d.find("Content-Description: Undelivered Message Headers").unwrap();
        d.truncate(cut);
        d.push_str("\n--4F1A2B3C4D.1772531201/mx.example.net--\n");
    }
    d
}

/// DSNs to the envelope senders of readers 1, 2 and 4, a complaint about
/// reader 3's message, an auto-reply and a message that is no bounce.
fn write_reports(sb: &Sandbox, senders: &HashMap<String, String>) {
    let r = |i: usize| format!("reader{i}@example.org");
    let env = |i: usize| senders[&r(i)].clone();
    // reader1: hard, forwarded to an address we never mailed, nothing returned.
    sb.write(
        "in/1.eml",
        dsn_to(
            &env(1),
            "<b1@mx>",
            "r1.forward@elsewhere.example",
            "5.1.1",
            "550 5.1.1 user unknown",
            None,
        ),
    );
    // reader2: mailbox full (soft); reader4: a delay warning.
    let mid = |i: usize| our_message_id("2026-w47", &r(i)).replace("news.example.com", "example.com");
    sb.write(
        "in/2.eml",
        dsn_to(
            &env(2),
            "<b2@mx>",
            &r(2),
            "5.2.2",
            "552 5.2.2 mailbox full",
            Some(&mid(2)),
        ),
    );
    sb.write(
        "in/4.eml",
        dsn_to(
            &env(4),
            "<b4@mx>",
            &r(4),
            "4.4.1",
            "421 4.4.1 connection timed out",
            Some(&mid(4)),
        )
        .replace("Action: failed", "Action: delayed"),
    );
    // reader3: a complaint through a feedback loop (to a fixed address, not VERP).
    sb.write("in/3.eml", arf(&r(3), &mid(3)));
    sb.write("in/5.eml", VACATION);
    sb.write("in/6.eml", PLAIN);
}

/// After the import: the issue's counts and rates, and the suppression list.
fn status_and_list_show_them(sb: &Sandbox) {
    let st = status_json(sb);
    assert_eq!(st["version"], 2);
    let issue = &st["issues"][0];
    assert_eq!(issue["id"], "2026-w47");
    assert_eq!(
        (issue["sent"].as_u64(), issue["hard_bounces"].as_u64()),
        (Some(6), Some(1))
    );
    assert_eq!(
        (issue["soft_bounces"].as_u64(), issue["complaints"].as_u64()),
        (Some(1), Some(1))
    );
    assert!((issue["hard_bounce_rate"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-9);
    let text = sb.run(&["status"]);
    assert!(
        text.stdout
            .contains("  bounces: 1 hard (16.7%), 1 soft (16.7%), 1 complaint(s) (16.67%)"),
        "{}",
        text.stdout
    );
    let list = sb.run(&["suppressions", "--json"]);
    let rows: Vec<serde_json::Value> = list.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["email"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("reader1@example.org", "bounced"),
            ("reader3@example.org", "complained")
        ]
    );
    let only = sb.run(&["suppressions", "--reason", "complained"]);
    assert_eq!(only.stdout.lines().count(), 1);
    assert!(
        only.stdout.contains(" complained reader3@example.org (1 complaint(s)"),
        "{}",
        only.stdout
    );
    // The next run skips them.
    let active = sb.run(&["subscribers", "list"]).stdout;
    assert!(!active.contains("reader1@") && !active.contains("reader3@") && active.contains("reader2@"));
}

#[test]
fn verp_bounces_and_complaints_are_recorded_and_suppress_per_thresholds() {
    let server = SmtpServer::builder().start();
    let sb = verp_folder(server.port(), 6);
    send(&sb, &[]).expect_code(0);
    let senders: HashMap<String, String> = server
        .messages()
        .into_iter()
        .map(|m| (m.to[0].clone(), m.from.clone()))
        .collect();
    assert_eq!(senders.len(), 6);
    for (to, from) in &senders {
        let (local, domain) = from.split_once('@').unwrap();
        assert_eq!(domain, "example.com");
        assert!(local.starts_with("bounces+") && local.len() == 8 + 24, "{to}: {from}");
        assert!(local.len() <= 64);
    }
    let distinct: std::collections::HashSet<&String> = senders.values().collect();
    assert_eq!(distinct.len(), 6, "one envelope sender per recipient");
    write_reports(&sb, &senders);
    let run = import(&sb, &["in"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "suppressed reader1@example.org as bounced (1 hard bounce(s), last: userunknown 5.1.1, issue 2026-w47)\n\
         suppressed reader3@example.org as complained (1 complaint(s), last: abuse, issue 2026-w47)\n"
    );
    assert!(
        run.stderr.contains(
            "bounces import: 6 message(s): recorded 1 hard, 1 soft, 1 complaint(s); 0 already recorded, \
             1 delay warning(s), 0 not ours, 2 not bounces, 0 unreadable; suppressed 2"
        ),
        "{}",
        run.stderr
    );
    // The same reports again count once.
    let again = import(&sb, &["in"]);
    again.expect_code(0);
    assert_eq!(again.stdout, "");
    assert!(
        again
            .stderr
            .contains("recorded 0 hard, 0 soft, 0 complaint(s); 3 already recorded"),
        "{}",
        again.stderr
    );
    status_and_list_show_them(&sb);
}

#[test]
fn verp_leaves_the_message_bytes_as_they_were() {
    let sb = Sandbox::example();
    // A fixed clock: two runs a second apart would differ in the Date header.
    let run = |sb: &Sandbox, out: &str| {
        let mut c = sb.cmd(&["send", ISSUE, "--dry-run", "--outbox", out]);
        c.env("NEWSLETTER_DATE", "2026-11-23T09:00:00+09:00");
        crate::harness::Run::from(c.output().unwrap())
            .expect_code(0)
            .stdout
            .clone()
    };
    run(&sb, "plain");
    let cfg = sb.read("newsletter.toml").replace(
        "bounce_address = \"bounces@example.com\"",
        &format!("bounce_address = \"{VERP}\""),
    );
    sb.write("newsletter.toml", cfg);
    run(&sb, "verp");
    let names: Vec<_> = std::fs::read_dir(sb.path("plain/2026-w47"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(!names.is_empty());
    for n in names {
        let a = std::fs::read(sb.path("plain/2026-w47").join(&n)).unwrap();
        let b = std::fs::read(sb.path("verp/2026-w47").join(&n)).unwrap();
        assert!(a == b, "{n:?} differs with VERP");
    }
}

#[test]
fn verp_without_the_key_is_a_config_error() {
    let sb = Sandbox::example();
    let cfg = sb
        .read("newsletter.toml")
        .replace(
            "bounce_address = \"bounces@example.com\"",
            &format!("bounce_address = \"{VERP}\""),
        )
        .replace("unsubscribe_url = \"https://example.com/u?token={token}\"\n", "");
    sb.write("newsletter.toml", cfg);
    let r = Run::from(
        sb.cmd(&["send", ISSUE, "--dry-run"])
            .env_remove("NEWSLETTER_UNSUBSCRIBE_SECRET")
            .output()
            .unwrap(),
    );
    r.expect_code(2);
    assert!(
        r.stderr
            .contains("error: bounce_address has {token} (VERP) but NEWSLETTER_UNSUBSCRIBE_SECRET is not set"),
        "{}",
        r.stderr
    );
}

#[test]
fn refusals_while_sending_are_bounces_of_the_issue() {
    let server = SmtpServer::builder()
        .fail_rcpt(
            "reader1@example.org",
            "550 5.1.1 <reader1@example.org>: user unknown",
            ALWAYS,
        )
        .fail_rcpt(
            "reader2@example.org",
            "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
            ALWAYS,
        )
        .start();
    let sb = folder(server.port(), 4, "");
    send(&sb, &[]).expect_code(1);
    let st = status_json(&sb);
    let issue = &st["issues"][0];
    assert_eq!(
        (issue["hard_bounces"].as_u64(), issue["soft_bounces"].as_u64()),
        (Some(1), Some(1))
    );
    let list = sb.run(&["suppressions"]).stdout;
    assert!(
        list.contains(" bounced reader1@example.org (1 hard bounce(s), last: userunknown 5.1.1, issue 2026-w47)"),
        "{list}"
    );
    assert!(
        !list.contains("reader2@"),
        "a policy block of the sender never suppresses: {list}"
    );
}

#[test]
fn bad_input_is_one_line_each_and_suppresses_nobody() {
    let sb = folder(1, 3, "");
    let reader = "reader0@example.org";
    let dsn = postfix_dsn(
        reader,
        "5.1.1",
        "550 5.1.1 user unknown",
        &our_message_id("2026-w47", reader),
    );
    let cut = dsn.find("This is the mail system").unwrap();
    sb.write("in/a-truncated.eml", &dsn[..cut]);
    sb.write("in/b-garbage.eml", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR garbage".as_slice());
    // Someone else's message, and our shape with a hash that is nobody's.
    sb.write(
        "in/c-other.eml",
        postfix_dsn(reader, "5.1.1", "550 5.1.1 user unknown", "<CAF=x1@mail.gmail.com>"),
    );
    sb.write(
        "in/d-forged.eml",
        postfix_dsn(
            reader,
            "5.1.1",
            "550 5.1.1 user unknown",
            "<2026-w47.0123456789abcdef@example.com>",
        )
        .replace("<20260303100001.4F1A2B3C4D@mx.example.net>", "<d@mx>"),
    );
    let mut big = postfix_dsn(
        reader,
        "5.1.1",
        "550 5.1.1 user unknown",
        &our_message_id("2026-w47", reader),
    );
    big.push_str(&"x".repeat(80));
    let line = format!("{}\n", "y".repeat(998));
    let mut body = String::with_capacity(51 << 20);
    while body.len() < 50 << 20 {
        body.push_str(&line);
    }
    big.push_str(&body);
    sb.write("in/e-big.eml", big);
    let run = import(&sb, &["in"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "nothing suppressed");
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.contains("bounces import:")).collect();
    assert_eq!(
        lines,
        [
            "in/a-truncated.eml: error: truncated MIME: the message ends before its report could be read; nothing recorded",
            "in/b-garbage.eml: error: not an email message: binary data in the header; nothing recorded",
            "in/c-other.eml: the returned message <CAF=x1@mail.gmail.com> is not one we sent to anyone on the list; nothing recorded",
            "in/d-forged.eml: the returned message <2026-w47.0123456789abcdef@example.com> is not one we sent to anyone on the list; nothing recorded",
            "in/e-big.eml: error: message larger than 25 MiB; skipped; nothing recorded",
        ],
        "{}",
        run.stderr
    );
    assert_eq!(sb.run(&["suppressions"]).stdout, "");
}

#[test]
fn sysexits_speak_to_a_mail_systems_pipe() {
    let sb = folder(1, 2, "");
    sb.write("garbage.eml", b"\x89PNG\r\n\x1a\n\0\0\0".as_slice());
    sb.write("ok.eml", VACATION);
    let code = |args: &[&str]| sb.run(args).code;
    assert_eq!(code(&["bounces", "import", "--sysexits", "ok.eml"]), 0);
    assert_eq!(
        code(&["bounces", "import", "--sysexits", "garbage.eml"]),
        65,
        "EX_DATAERR"
    );
    assert_eq!(code(&["bounces", "import", "garbage.eml"]), 1);
    // A state folder that cannot be used: try again later.
    std::fs::remove_dir_all(sb.path("state")).unwrap();
    sb.write("state", "not a folder");
    assert_eq!(code(&["bounces", "import", "--sysexits", "ok.eml"]), 75, "EX_TEMPFAIL");
    assert_eq!(code(&["bounces", "import", "ok.eml"]), 3);
    sb.write("newsletter.toml", "[newsletter]\nname = 1\n");
    assert_eq!(code(&["bounces", "import", "--sysexits", "ok.eml"]), 78, "EX_CONFIG");
    assert_eq!(code(&["bounces", "import", "ok.eml"]), 2);
}
