//! `newsletter send` end to end against the in-process SMTP server: messages
//! parsed back with mail-parser, dry runs, shards, test copies, injection.

use crate::harness::{repo_root, Run, Sandbox};
use crate::smtp_server::{SmtpServer, ALWAYS};
use mail_parser::{MessageParser, MimeHeaders};
use std::collections::{BTreeSet, HashMap};

pub const ISSUE: &str = "issues/2026-w47.md";

/// A newsletter folder whose config points at `port` and whose list holds `n`
/// subscribers (`reader{i}@example.org`, every other name in Korean).
pub fn folder(port: u16, n: usize, extra_smtp: &str) -> Sandbox {
    let sb = Sandbox::example();
    let _ = std::fs::remove_dir_all(sb.path("subscribers"));
    sb.write(
        "newsletter.toml",
        format!(
            "[newsletter]\nname = \"Field Notes Weekly\"\nfrom = \"Field Notes <weekly@example.com>\"\n\
             reply_to = \"editor@example.com\"\nlist_id = \"weekly.example.com\"\n\
             unsubscribe_url = \"https://example.com/u?token={{token}}\"\n\
             unsubscribe_mailto = \"unsubscribe@example.com\"\npostal_address = \"1 Example Street, Seoul\"\n\
             bounce_address = \"bounces@example.com\"\nmax_age_days = 36500\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_secs = 5\n{extra_smtp}\n"
        ),
    );
    write_list(&sb, n);
    sb
}

pub fn write_list(sb: &Sandbox, n: usize) {
    let mut csv = String::from("email,name,status\n");
    for i in 0..n {
        let name = if i.is_multiple_of(2) {
            format!("Reader {i}")
        } else {
            format!("김독자 {i}")
        };
        csv.push_str(&format!("reader{i}@example.org,{name},subscribed\n"));
    }
    sb.write("subscribers/list.csv", csv);
}

pub fn send(sb: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["send", ISSUE, "--yes"];
    args.extend_from_slice(extra);
    let mut c = sb.cmd(&args);
    c.env("NEWSLETTER_RETRY_BASE_MS", "20");
    Run::from(c.output().unwrap())
}

pub fn status_json(sb: &Sandbox) -> serde_json::Value {
    let r = sb.run(&["status", "--json"]);
    r.expect_code(0);
    serde_json::from_str(&r.stdout).unwrap()
}

/// Messages received per recipient.
pub fn per_recipient(server: &SmtpServer) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for msg in server.messages() {
        for to in msg.to {
            *m.entry(to).or_insert(0) += 1;
        }
    }
    m
}

fn issue_title(sb: &Sandbox) -> String {
    let text = sb.read(ISSUE);
    let line = text.lines().find(|l| l.starts_with("title")).unwrap();
    line.split('"').nth(1).unwrap().to_string()
}

#[test]
fn live_send_to_200_recipients_parses_back_correctly() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 200, "concurrency = 4");
    send(&sb, &[]).expect_code(0);
    let title = issue_title(&sb);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 200);
    let mut ids = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for m in &msgs {
        assert_eq!(m.from, "bounces@example.com", "envelope sender is bounce_address");
        assert_eq!(m.to.len(), 1);
        let rcpt = &m.to[0];
        let parsed = MessageParser::default().parse(&m.data).expect("parses");
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.address().unwrap(), rcpt);
        let i: usize = rcpt
            .trim_start_matches("reader")
            .split('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let want_name = if i.is_multiple_of(2) {
            format!("Reader {i}")
        } else {
            format!("김독자 {i}")
        };
        assert_eq!(to.name().unwrap(), want_name);
        assert_eq!(parsed.subject().unwrap(), title, "decoded subject keeps its spaces");
        assert_eq!(parsed.content_type().unwrap().subtype(), Some("alternative"));
        let text = parsed.body_text(0).expect("text part");
        let html = parsed.body_html(0).expect("html part");
        assert!(text.contains("1 Example Street, Seoul") && html.contains("1 Example Street, Seoul"));
        let first_part = &parsed.parts[1];
        assert_eq!(
            first_part.content_type().unwrap().subtype(),
            Some("plain"),
            "text/plain comes first"
        );
        for p in &parsed.parts[1..] {
            assert_eq!(p.content_type().unwrap().attribute("charset"), Some("utf-8"));
        }
        let lu = parsed.header_raw("List-Unsubscribe").unwrap();
        let url = lu.split('<').nth(1).unwrap().split('>').next().unwrap();
        let token = url.strip_prefix("https://example.com/u?token=").expect("one-click URL");
        let owner =
            newsletter::token::verify(b"test-secret-key-0123456789", "weekly.example.com", token).expect("valid token");
        assert_eq!(owner, *rcpt, "token is for this recipient");
        assert!(lu.contains("<mailto:unsubscribe@example.com"));
        assert_eq!(
            parsed.header_raw("List-Unsubscribe-Post").unwrap().trim(),
            "List-Unsubscribe=One-Click"
        );
        ids.insert(parsed.message_id().unwrap().to_string());
        seen.insert(rcpt.clone());
    }
    assert_eq!(ids.len(), 200, "Message-IDs unique");
    assert_eq!(seen.len(), 200, "one message per recipient");
    let st = status_json(&sb);
    assert_eq!(st["issues"][0]["sent"], 200);
    assert!(st["issues"][0]["finished_at"].is_string());
}

#[test]
fn second_run_sends_nothing_and_message_ids_are_stable() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 20, "");
    send(&sb, &[]).expect_code(0);
    let again = send(&sb, &[]);
    again.expect_code(0);
    assert_eq!(server.message_count(), 20);
    // The dry run of the same issue and list builds the same Message-IDs.
    sb.run(&["send", ISSUE, "--dry-run"]).expect_code(0);
    let eml = sb.read("outbox/2026-w47/reader3@example.org.eml");
    let live = server
        .messages()
        .into_iter()
        .find(|m| m.to[0] == "reader3@example.org")
        .unwrap();
    let id = |b: &[u8]| {
        MessageParser::default()
            .parse(b)
            .unwrap()
            .message_id()
            .unwrap()
            .to_string()
    };
    assert_eq!(id(eml.as_bytes()), id(&live.data));
}

#[test]
fn dry_run_is_byte_for_byte_reproducible_and_touches_no_state() {
    let key = repo_root().join("tests/integration/fixtures/dkim/test-key.pem");
    let dkim = format!(
        "\n[dkim]\ndomain = \"example.com\"\nselector = \"weekly\"\nkey_file = \"{}\"\n",
        key.display()
    );
    // Unsigned, and signed: DKIM's t= is the message's date, not the wall clock.
    for extra in ["", dkim.as_str()] {
        let sb = folder(1, 5, "");
        let base = sb.read("newsletter.toml");
        sb.write("newsletter.toml", format!("{base}{extra}"));
        let run = |out: &str| {
            let mut c = sb.cmd(&["send", ISSUE, "--dry-run", "--outbox", out]);
            c.env("NEWSLETTER_DATE", "2026-11-23T09:00:00+09:00");
            Run::from(c.output().unwrap()).expect_code(0);
        };
        run("a");
        // Across a second boundary, so a signature made at the wall clock would differ.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        run("b");
        let files: Vec<_> = std::fs::read_dir(sb.path("a/2026-w47"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files.len(), 5);
        for f in files {
            let a = std::fs::read(sb.path("a/2026-w47").join(&f)).unwrap();
            let b = std::fs::read(sb.path("b/2026-w47").join(&f)).unwrap();
            assert_eq!(a, b, "{f:?} differs between runs");
            let text = String::from_utf8_lossy(&a);
            assert!(text.contains("Date: Mon, 23 Nov 2026 00:00:00 +0000"));
            assert_eq!(text.contains(" t=1795392000;"), !extra.is_empty(), "{text}");
        }
        assert!(!sb.path("state/newsletter.db").exists(), "a dry run changes no journal");
    }
}

#[test]
fn shards_cover_every_recipient_exactly_once() {
    let sb = folder(1, 100, "");
    let mut all = Vec::new();
    for k in 1..=4 {
        let out = format!("shard{k}");
        sb.run(&[
            "send",
            ISSUE,
            "--dry-run",
            "--shard",
            &format!("{k}/4"),
            "--outbox",
            &out,
        ])
        .expect_code(0);
        let names: Vec<String> = std::fs::read_dir(sb.path(&out).join("2026-w47"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.is_empty() && names.len() < 100, "shard {k} has {}", names.len());
        all.extend(names);
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 100, "no recipient in two shards");
    assert_eq!(unique.len(), 100, "every recipient in some shard");
    sb.run(&["send", ISSUE, "--dry-run", "--shard", "5/4"]).expect_code(2);
}

#[test]
fn test_copy_goes_to_one_address_with_prefix_and_is_not_journalled() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 10, "");
    send(&sb, &["--to", "editor@example.net"]).expect_code(0);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].to, vec!["editor@example.net".to_string()]);
    let parsed = MessageParser::default().parse(&msgs[0].data).unwrap();
    assert_eq!(parsed.subject().unwrap(), format!("[TEST] {}", issue_title(&sb)));
    send(&sb, &[]).expect_code(0);
    assert_eq!(server.message_count(), 11, "the test copy did not count as a delivery");
}

#[test]
fn permanent_failures_fail_only_their_recipients_and_bounce_unknown_mailboxes() {
    let server = SmtpServer::builder()
        .fail_rcpt(
            "reader3@example.org",
            "550 5.1.1 <reader3@example.org>: user unknown",
            ALWAYS,
        )
        .fail_data("reader5@example.org", "554 5.6.0 message rejected", ALWAYS)
        .fail_rcpt("reader7@example.org", "451 4.3.0 try later", 2)
        .start();
    let sb = folder(server.port(), 12, "retries = 3");
    let r = send(&sb, &[]);
    r.expect_code(1);
    let got = per_recipient(&server);
    assert_eq!(got.len(), 10);
    assert!(!got.contains_key("reader3@example.org") && !got.contains_key("reader5@example.org"));
    assert_eq!(
        got["reader7@example.org"], 1,
        "transient failure retried until delivered"
    );
    let st = status_json(&sb);
    let failed: Vec<&str> = st["issues"][0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["email"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["reader3@example.org", "reader5@example.org"]);
    let text = sb.run(&["status"]);
    assert!(text.stdout.contains("failed reader3@example.org"), "{}", text.stdout);
    let list = sb.run(&["subscribers", "list"]);
    assert!(
        !list.stdout.contains("reader3@example.org"),
        "550 5.1.1 suppresses the address"
    );
    assert!(
        list.stdout.contains("reader5@example.org"),
        "a rejected message does not suppress"
    );
}

#[test]
fn header_injection_is_refused_and_nothing_is_sent() {
    let server = SmtpServer::start();
    // Title with an encoded newline in the TOML string.
    let sb = folder(server.port(), 3, "");
    let text = sb.read(ISSUE);
    let evil = text.replacen("title = \"", "title = \"Hi\\nBcc: victim@example.net\\n", 1);
    sb.write(ISSUE, evil);
    let r = send(&sb, &[]);
    r.expect_code(2);
    assert!(r.stderr.contains(ISSUE), "names the source: {}", r.stderr);
    // A subscriber name with a CR LF.
    let sb2 = folder(server.port(), 0, "");
    sb2.write(
        "subscribers/list.csv",
        "email,name\nx@example.org,\"Eve\r\nBcc: victim@example.net\"\n",
    );
    let r = send(&sb2, &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("list.csv"), "names the file: {}", r.stderr);
    // The config's from.
    let sb3 = folder(server.port(), 2, "");
    let cfg = sb3.read("newsletter.toml").replace(
        "from = \"Field Notes <weekly@example.com>\"",
        "from = \"Field Notes <weekly@example.com>\\r\\nBcc: victim@example.net\"",
    );
    sb3.write("newsletter.toml", cfg);
    let r = send(&sb3, &[]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("newsletter.toml:"),
        "names the config line: {}",
        r.stderr
    );
    assert_eq!(server.message_count(), 0, "nothing was sent");
}

#[test]
fn live_send_without_yes_and_without_terminal_is_refused() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    let r = sb.run(&["send", ISSUE]);
    r.expect_code(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(server.message_count(), 0);
}

#[test]
fn unreachable_server_aborts_with_3_and_says_what_to_fix() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = folder(port, 3, "");
    let r = send(&sb, &[]);
    r.expect_code(3);
    assert!(r.stderr.contains(&format!("127.0.0.1:{port}")), "{}", r.stderr);
    assert!(r.stderr.contains("run the same command again"), "{}", r.stderr);
    assert_eq!(status_json(&sb)["issues"][0]["sent"], 0);
}

#[test]
fn refused_authentication_aborts_with_3_and_never_shows_the_password() {
    let server = SmtpServer::builder().auth("weekly", "right-password").start();
    let sb = folder(server.port(), 3, "username = \"weekly\"\npassword_env = \"NL_TEST_PW\"");
    let mut c = sb.cmd(&["send", ISSUE, "--yes", "-v"]);
    c.env("NL_TEST_PW", "wrong-password-s3cret");
    let r = Run::from(c.output().unwrap());
    r.expect_code(3);
    assert!(
        !r.stderr.contains("s3cret") && !r.stdout.contains("s3cret"),
        "{}",
        r.stderr
    );
    assert_eq!(server.message_count(), 0);
    let mut c = sb.cmd(&["send", ISSUE, "--yes"]);
    c.env("NL_TEST_PW", "right-password");
    Run::from(c.output().unwrap()).expect_code(0);
    assert_eq!(server.message_count(), 3);
}

#[test]
fn a_run_of_transient_failures_aborts_with_3() {
    let mut builder = SmtpServer::builder();
    for i in 0..40 {
        builder = builder.fail_rcpt(&format!("reader{i}@example.org"), "451 4.3.0 overloaded", ALWAYS);
    }
    let server = builder.start();
    let sb = folder(server.port(), 40, "concurrency = 1\nretries = 2");
    let r = send(&sb, &[]);
    r.expect_code(3);
    assert!(r.stderr.contains("transient failures in a row"), "{}", r.stderr);
    let st = status_json(&sb);
    assert_eq!(st["issues"][0]["sent"], 0);
    assert!(st["issues"][0]["finished_at"].is_null());
}

#[test]
fn korean_subject_keeps_its_spaces_and_dry_run_bytes_equal_live_bytes() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 4, "");
    let title = "필드 노트 주간, 제 47 호: 데이터베이스와 운영";
    let text = sb.read(ISSUE).replacen(
        &format!("title = \"{}\"", issue_title(&sb)),
        &format!("title = \"{title}\""),
        1,
    );
    sb.write(ISSUE, text);
    let fixed = |args: &[&str]| {
        let mut c = sb.cmd(args);
        c.env("NEWSLETTER_DATE", "2026-11-23T09:00:00+09:00");
        Run::from(c.output().unwrap())
    };
    fixed(&["send", ISSUE, "--yes"]).expect_code(0);
    fixed(&["send", ISSUE, "--dry-run"]).expect_code(0);
    for m in server.messages() {
        let parsed = MessageParser::default().parse(&m.data).unwrap();
        assert_eq!(parsed.subject().unwrap(), title, "decoded Korean subject, spaces kept");
        let raw = String::from_utf8_lossy(&m.data);
        let subject_line = raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
        assert!(subject_line.contains("=?utf-8?"), "RFC 2047 encoded: {subject_line}");
        let eml = std::fs::read(sb.path(&format!("outbox/2026-w47/{}.eml", m.to[0]))).unwrap();
        assert_eq!(eml, m.data, "the dry run wrote exactly the bytes the server received");
    }
}
