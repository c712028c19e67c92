//! Sends that must never be recorded as done: a server that refuses the
//! sender, and a state database deleted, made read-only or emptied under
//! the tool. Each ends with a clear message and the documented exit code,
//! with everyone still pending.

use crate::harness::{unstamped, Run, Sandbox};
use crate::send::{folder, per_recipient, send, status_json, ISSUE};
use crate::smtp_server::{SmtpServer, ALWAYS};
use std::time::Duration;

/// Recipients spread over several domains, like a real list.
fn spread_list(sb: &Sandbox, n: usize) {
    let mut csv = String::from("email,name\n");
    for i in 0..n {
        csv.push_str(&format!("reader{i}@example{}.org,Reader {i}\n", i % 4));
    }
    sb.write("subscribers/list.csv", csv);
}

fn assert_all_pending(sb: &Sandbox, n: u64) {
    let st = status_json(sb);
    let issue = &st["issues"][0];
    assert_eq!(
        (
            issue["sent"].as_u64(),
            issue["failed"].as_u64(),
            issue["pending"].as_u64()
        ),
        (Some(0), Some(0), Some(n)),
        "{st}"
    );
    assert!(issue["finished_at"].is_null(), "{st}");
}

#[test]
fn authentication_required_stops_with_exit_3_and_a_hint_and_fails_nobody() {
    let server = SmtpServer::builder()
        .refuse_mail_from("530 5.7.0 Authentication required")
        .start();
    let sb = folder(server.port(), 0, "concurrency = 4");
    spread_list(&sb, 200);
    let r = send(&sb, &[]);
    r.expect_code(3);
    assert!(
        unstamped(&r.stderr).contains(
            "error: aborted: the server refused the sender (SMTP MAIL FROM: server replied 530 5.7.0 \
             Authentication required); nobody was marked failed, everyone is still pending. hint: the server \
             requires authentication: set [smtp] username and password_env"
        ),
        "{}",
        r.stderr
    );
    assert!(server.mail_commands() <= 4, "{} MAIL FROM sent", server.mail_commands());
    assert_all_pending(&sb, 200);
    // Nothing changes on a second try, and the issue is still not finished.
    send(&sb, &[]).expect_code(3);
    assert_all_pending(&sb, 200);
}

#[test]
fn a_policy_refusal_of_every_recipient_stops_with_exit_3_and_fails_nobody() {
    let server = SmtpServer::builder()
        .fail_rcpt(
            "*",
            "554 5.7.1 <bounces@example.com>: Sender address rejected: not owned by user",
            ALWAYS,
        )
        .start();
    let sb = folder(server.port(), 0, "concurrency = 4");
    spread_list(&sb, 200);
    let r = send(&sb, &[]);
    r.expect_code(3);
    assert!(
        unstamped(&r.stderr).contains("error: aborted: the server refused the sender, not the recipients: 5 recipients in a row got the same answer"),
        "{}",
        r.stderr
    );
    assert!(
        unstamped(&r.stderr).contains("hint: the server does not relay for this sender"),
        "{}",
        r.stderr
    );
    assert_all_pending(&sb, 200);
    assert_eq!(server.message_count(), 0);
}

/// Starts a slow send (20 messages a second) in the background.
fn slow_send(sb: &Sandbox) -> std::process::Child {
    let mut c = sb.cmd(&["send", ISSUE, "--yes"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c.spawn().unwrap()
}

fn finish(child: std::process::Child) -> Run {
    crate::hostile_inputs::finish_within(child, Duration::from_secs(60), "send")
}

#[test]
fn a_database_deleted_during_the_run_stops_it_and_its_journal_is_kept() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 300, "concurrency = 2\nrate_per_second = 20");
    let child = slow_send(&sb);
    assert!(server.wait_for(10, Duration::from_secs(30)));
    std::fs::remove_file(sb.path("state/newsletter.db")).unwrap();
    let r = finish(child);
    r.expect_code(3);
    let db = sb.path("state/newsletter.db");
    assert!(
        unstamped(&r.stderr).contains(&format!(
            "the state database {} was deleted during the run; its journal was saved to",
            db.display()
        )),
        "{}",
        r.stderr
    );
    let delivered = server.message_count();
    assert!(delivered < 300, "the run went on after the database vanished");
    // A re-run does not start over with a new database...
    let again = send(&sb, &[]);
    again.expect_code(2);
    assert!(unstamped(&again.stderr).contains("is missing, and"), "{}", again.stderr);
    assert_eq!(server.message_count(), delivered);
    // ...and with the saved copy back it resumes: nobody gets the issue twice
    // beyond the messages in flight when the database vanished.
    let copy = std::fs::read_dir(sb.path("state"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("newsletter.db.rescued-"))
        .expect("a saved copy");
    std::fs::rename(copy, &db).unwrap();
    let cfg = sb
        .read("newsletter.toml")
        .replace("rate_per_second = 20", "rate_per_second = 0");
    sb.write("newsletter.toml", cfg);
    send(&sb, &[]).expect_code(0);
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 300);
    let twice = counts.values().filter(|&&n| n > 1).count();
    assert!(twice <= 2, "{twice} recipients got it twice");
}

#[test]
fn a_database_made_read_only_during_the_run_stops_it() {
    use std::os::unix::fs::PermissionsExt;
    let server = SmtpServer::start();
    let sb = folder(server.port(), 300, "concurrency = 2\nrate_per_second = 20");
    let child = slow_send(&sb);
    assert!(server.wait_for(10, Duration::from_secs(30)));
    let db = sb.path("state/newsletter.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    let r = finish(child);
    r.expect_code(3);
    assert!(
        unstamped(&r.stderr).contains(&format!(
            "the state database {} was made read-only during the run",
            db.display()
        )),
        "{}",
        r.stderr
    );
    assert!(server.message_count() < 300);
}

#[test]
fn an_empty_database_is_refused_and_nothing_is_sent() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    sb.write("state/newsletter.db", "");
    let r = send(&sb, &[]);
    r.expect_code(2);
    let db = sb.path("state/newsletter.db");
    assert!(
        unstamped(&r.stderr)
            .starts_with("error: state/newsletter.db is empty (0 bytes): refusing to start a new database over it"),
        "{}",
        r.stderr
    );
    assert_eq!(server.message_count(), 0);
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
    sb.run(&["send", ISSUE, "--dry-run"]).expect_code(2);
}

#[test]
fn state_outbox_and_preview_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    let with_umask_0 = |args: &str| {
        let bin = env!("CARGO_BIN_EXE_newsletter");
        let mut sh = std::process::Command::new("sh");
        sh.arg("-c")
            .arg(format!("umask 000; exec {bin} {args}"))
            .current_dir(sb.dir.path())
            .env("NO_COLOR", "1")
            .env("NEWSLETTER_UNSUBSCRIBE_SECRET", "test-secret-key-0123456789");
        Run::from(sh.output().unwrap())
    };
    with_umask_0(&format!("send {ISSUE} --yes")).expect_code(0);
    with_umask_0(&format!("send {ISSUE} --dry-run")).expect_code(0);
    with_umask_0(&format!("preview {ISSUE} --out pv/x")).expect_code(0);
    let mode = |rel: &str| std::fs::metadata(sb.path(rel)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("state"), 0o700);
    assert_eq!(mode("state/newsletter.db"), 0o600);
    assert_eq!(mode("outbox"), 0o700);
    assert_eq!(mode("outbox/2026-w47"), 0o700);
    assert_eq!(mode("outbox/2026-w47/reader0@example.org.eml"), 0o600);
    assert_eq!((mode("pv"), mode("pv/x")), (0o700, 0o700));
    for f in ["email.html", "email.txt", "message.eml", "index.html"] {
        assert_eq!(mode(&format!("pv/x/{f}")), 0o600, "{f}");
    }
}
