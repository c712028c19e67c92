//! `send --due` as cron runs it: silent over a back catalogue, every line
//! timestamped, the summary under --quiet when mail went out, volume caps
//! at fixed clocks, transient failures retried later, and `status` saying
//! why a run stopped.

use crate::harness::{corpus, is_stamped, unstamped, Run, Sandbox};
use crate::send::{folder, per_recipient, status_json, ISSUE};
use crate::smtp_server::{SmtpServer, ALWAYS};

/// `send ARGS --yes` at the clock `date`.
fn send_at(sb: &Sandbox, date: &str, args: &[&str]) -> Run {
    let mut all = vec!["send"];
    all.extend_from_slice(args);
    all.push("--yes");
    let mut c = sb.cmd(&all);
    c.env("NEWSLETTER_DATE", date).env("NEWSLETTER_RETRY_BASE_MS", "10");
    Run::from(c.output().unwrap())
}

fn status_at(sb: &Sandbox, date: &str) -> String {
    let mut c = sb.cmd(&["status"]);
    c.env("NEWSLETTER_DATE", date);
    let r = Run::from(c.output().unwrap());
    r.expect_code(0);
    r.stdout
}

#[test]
fn due_quiet_over_52_old_issues_prints_nothing() {
    let Some(corpus) = corpus() else { return };
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    let config = sb
        .read("newsletter.toml")
        .replace("max_age_days = 36500", "max_age_days = 7");
    sb.write("newsletter.toml", config);
    std::fs::remove_dir_all(sb.path("issues")).unwrap();
    for p in crate::harness::article_weekly(&corpus) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        sb.write(&format!("issues/{name}"), std::fs::read(&p).unwrap());
    }
    // Notes beside the posts: no front matter, so no date: never due.
    sb.write("issues/README.md", "# About these issues\n");
    let now = "2026-11-25T12:00:00Z";
    let r = send_at(&sb, now, &["--due", "--quiet"]);
    r.expect_code(0);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""), "cron mails nothing");
    assert_eq!(server.message_count(), 0);
    // Without --quiet the old issues are mentioned (but never linted).
    let r = send_at(&sb, now, &["--due"]);
    let lines = unstamped(&r.stderr);
    let old = lines
        .lines()
        .filter(|l| l.contains("older than max_age_days = 7: not sent"))
        .count();
    assert_eq!(old, 52, "{lines}");
    // A lint diagnostic reads `issues/issue-007.md:12:3: warning: …`.
    let linted = |l: &str| {
        l.split(".md:")
            .nth(1)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    assert!(
        !lines.lines().any(linted),
        "no lint of issues that are not due: {lines}"
    );
    // mark-sent --all-before quiets them for good, without --quiet too.
    let m = sb.run(&["mark-sent", "--all-before", "2026-11-01"]);
    m.expect_code(0);
    assert!(
        m.stdout
            .starts_with("marked 52 issues as sent (no mail was sent): issue-001,"),
        "{}",
        m.stdout
    );
    let r = send_at(&sb, now, &["--due"]);
    r.expect_code(0);
    assert_eq!(unstamped(&r.stderr), "nothing due\n");
    let st = status_at(&sb, now);
    assert_eq!(
        st.lines().filter(|l| l.ends_with(" (no mail was sent)")).count(),
        52,
        "{st}"
    );
    assert!(st.starts_with("issue-001: marked as sent "), "{st}");
    assert_eq!(server.message_count(), 0);
}

#[test]
fn send_after_keeps_the_back_catalogue_and_cron_sends_the_new_issue_with_a_stamped_summary() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    // 2026-w47 is dated 2026-11-23T00:00Z, 2026-w48 2026-11-30.
    let config = sb
        .read("newsletter.toml")
        .replace("max_age_days = 36500", "max_age_days = 36500\nsend_after = 2026-11-24");
    sb.write("newsletter.toml", config);
    let r = send_at(&sb, "2026-11-26T00:00:00Z", &["--due"]);
    r.expect_code(0);
    assert_eq!(
        unstamped(&r.stderr),
        "next: 2026-w48 is dated 2026-11-30 00:00 +00:00: held back until then (in 4 days)\nnothing due\n"
    );
    assert!(status_at(&sb, "2026-11-26T00:00:00Z")
        .ends_with("next: 2026-w48 goes out with send --due from 2026-11-30 00:00 +00:00 (in 4 days)\n"));
    let r = send_at(&sb, "2026-11-30T00:05:00Z", &["--due", "--quiet"]);
    r.expect_code(0);
    assert_eq!(server.message_count(), 3, "2026-w48 only");
    assert!(r.stdout.is_empty());
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "only the summary under --quiet: {lines:?}");
    assert!(is_stamped(lines[0]), "{}", lines[0]);
    assert!(
        lines[0][21..].starts_with("2026-w48: sent 3, failed 0, skipped 0 "),
        "{}",
        lines[0]
    );
}

#[test]
fn every_line_of_a_cron_run_is_timestamped() {
    let server = SmtpServer::builder()
        .fail_rcpt("reader1@example.org", "550 5.1.1 no such user", ALWAYS)
        .start();
    let sb = folder(server.port(), 3, "");
    let r = send_at(&sb, "2026-11-23T01:00:00Z", &["--due"]);
    r.expect_code(1);
    assert!(r.stderr.lines().count() >= 3, "{}", r.stderr);
    for line in r.stderr.lines() {
        assert!(is_stamped(line), "not stamped: {line:?}");
    }
    let text = unstamped(&r.stderr);
    assert!(
        text.contains("\nwarning: reader1@example.org: SMTP RCPT TO <reader1@example.org>: server replied 550"),
        "{text}"
    );
    assert!(text.contains(", 1 suppressed (refused while sending), "), "{text}");
    let st = status_at(&sb, "2026-11-23T01:00:00Z");
    assert!(
        st.contains(
            "\n  1 address(es) suppressed after its runs (refused while sending; see the [bounces] thresholds)\n"
        ),
        "{st}"
    );
    assert!(st.contains("\n  last run: finished "), "{st}");
}

#[test]
fn status_says_why_a_run_stopped() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = folder(port, 3, "");
    let r = send_at(&sb, "2026-11-23T01:00:00Z", &[ISSUE]);
    r.expect_code(3);
    let st = status_at(&sb, "2026-11-23T01:00:00Z");
    let line = st.lines().find(|l| l.starts_with("  last run: ")).unwrap();
    assert!(line.starts_with("  last run: aborted 2026-11-23T01:00:"), "{line}");
    assert!(
        line.contains(&format!(
            " (0 sent, 0 failed): SMTP connect: cannot connect to 127.0.0.1:{port}: "
        )),
        "{line}"
    );
    let doc = status_json(&sb);
    assert_eq!(doc["issues"][0]["last_run"]["outcome"], "aborted");
    assert_eq!(doc["issues"][0]["pending"], 3);
}

#[test]
fn caps_stop_cleanly_and_the_next_window_goes_on() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 10, "max_per_hour = 4\nconcurrency = 2");
    let config = sb
        .read("newsletter.toml")
        .replace("max_age_days = 36500", "max_age_days = 7");
    sb.write("newsletter.toml", config);
    let t0 = "2026-11-23T01:00:00Z";
    let r = send_at(&sb, t0, &["--due", "--quiet"]);
    r.expect_code(0);
    assert_eq!(server.message_count(), 4);
    let text = unstamped(&r.stderr);
    assert!(
        text.starts_with("2026-w47: sent 4, failed 0, skipped 0 (already sent 0, unsubscribed, suppressed or in another shard 0), not attempted 0, 6 left pending by max_per_hour = 4: can go on at 2026-11-23T02:00:"),
        "{text}"
    );
    let doc = status_json(&sb);
    assert_eq!(
        (doc["issues"][0]["sent"].as_u64(), doc["issues"][0]["pending"].as_u64()),
        (Some(4), Some(6))
    );
    assert_eq!(doc["issues"][0]["last_run"]["outcome"], "capped");
    // Within the hour: nothing goes, nothing is printed, exit 0.
    let r = send_at(&sb, "2026-11-23T01:30:00Z", &["--due", "--quiet"]);
    r.expect_code(0);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    assert_eq!(server.message_count(), 4);
    // The caps count every issue: a send of another issue by name is held too.
    let r = send_at(&sb, "2026-11-23T01:30:00Z", &["issues/2026-w48.md"]);
    r.expect_code(0);
    assert!(
        unstamped(&r.stderr)
            .contains("2026-w48: nothing sent: 10 left pending by max_per_hour = 4: can go on at 2026-11-23T02:00:"),
        "{}",
        r.stderr
    );
    assert_eq!(server.message_count(), 4);
    // The next windows, long after max_age_days: a started issue is finished.
    send_at(&sb, "2026-12-20T02:01:00Z", &["--due", "--quiet"]).expect_code(0);
    assert_eq!(server.message_count(), 8);
    send_at(&sb, "2026-12-20T03:02:00Z", &["--due", "--quiet"]).expect_code(0);
    let got = per_recipient(&server);
    let w47: usize = got.values().sum();
    assert_eq!(w47, 12, "10 of 2026-w47, then 2 of 2026-w48 within the cap");
    let doc = status_json(&sb);
    let w47 = doc["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "2026-w47")
        .unwrap();
    assert_eq!((w47["sent"].as_u64(), w47["pending"].as_u64()), (Some(10), Some(0)));
    assert!(w47["finished_at"].is_string());
}

#[test]
fn due_retries_a_transient_failure_later_and_only_that_recipient() {
    let server = SmtpServer::builder()
        .fail_rcpt("reader1@example.org", "450 4.2.1 mailbox busy", 1)
        .start();
    let sb = folder(server.port(), 3, "retries = 0");
    send_at(&sb, "2026-11-23T01:00:00Z", &["--due"]).expect_code(1);
    assert_eq!(server.message_count(), 2);
    let st = status_at(&sb, "2026-11-23T01:00:00Z");
    assert!(
        st.contains("\n  transient failures: send --due tries them again from 2026-11-23T01:15:"),
        "{st}"
    );
    // Too early: the issue is finished and the retry not due yet.
    let r = send_at(&sb, "2026-11-23T01:10:00Z", &["--due", "--quiet"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let r = send_at(&sb, "2026-11-23T01:20:00Z", &["--due"]);
    r.expect_code(0);
    assert!(
        unstamped(&r.stderr).contains(
            "2026-w47: sent 1, failed 0, skipped 2 (already sent 2, unsubscribed, suppressed or in another shard 0), "
        ),
        "{}",
        r.stderr
    );
    let got = per_recipient(&server);
    assert_eq!(
        (
            got["reader0@example.org"],
            got["reader1@example.org"],
            got["reader2@example.org"]
        ),
        (1, 1, 1)
    );
}
