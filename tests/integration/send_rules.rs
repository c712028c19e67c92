//! Rules of the send path that the plan and the dispatcher decide, end to
//! end: the maybe-delivered policy over TCP, exit 3 for any failure once the
//! run lock is held, `--due` at a fixed clock, and the summary line.

use crate::harness::{unstamped, Run};
use crate::send::{folder, per_recipient, send, status_json, ISSUE};
use crate::smtp_server::SmtpServer;

#[test]
fn a_message_that_may_have_arrived_is_sent_again_and_the_summary_says_so() {
    let server = SmtpServer::builder()
        .drop_before_data_reply("reader1@example.org", 1)
        .start();
    let sb = folder(server.port(), 3, "concurrency = 1");
    let r = send(&sb, &[]);
    r.expect_code(0);
    let got = per_recipient(&server);
    assert_eq!(got["reader1@example.org"], 2, "stored, connection dropped, sent again");
    assert_eq!((got["reader0@example.org"], got["reader2@example.org"]), (1, 1));
    assert!(
        r.stderr.contains(
            "warning: reader1@example.org: SMTP message body: connection lost (connection closed by the server); \
             the message may have arrived: sending it again"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(", 1 may have arrived twice (connection lost after sending; sent again), "),
        "{}",
        r.stderr
    );
    assert_eq!(status_json(&sb)["issues"][0]["sent"], 3);
}

#[test]
fn any_failure_after_the_lock_is_held_exits_3_not_2() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    // The lock is taken in state/, then the database cannot be opened.
    std::fs::create_dir_all(sb.path("state/newsletter.db")).unwrap();
    let r = send(&sb, &[]);
    r.expect_code(3);
    assert!(
        unstamped(&r.stderr).starts_with(
            "error: the run stopped; the journal is consistent: re-run the same command to resume: cannot open "
        ),
        "{}",
        r.stderr
    );
    assert_eq!(server.message_count(), 0);
}

#[test]
fn due_at_a_fixed_clock_sends_exactly_the_issues_that_are_due() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 4, "");
    let due = |date: &str| {
        let mut c = sb.cmd(&["send", "--due", "--yes"]);
        c.env("NEWSLETTER_DATE", date);
        Run::from(c.output().unwrap())
    };
    // Before both example issues (2026-11-23 09:00 +09:00 and 2026-11-30).
    let r = due("2026-11-22T23:59:59Z");
    r.expect_code(0);
    assert!(r.stderr.ends_with(" nothing due\n"), "{}", r.stderr);
    assert_eq!(server.message_count(), 0);
    // The first one only, to the second.
    due("2026-11-23T00:00:00Z").expect_code(0);
    assert_eq!(server.message_count(), 4);
    let st = status_json(&sb);
    assert_eq!(st["issues"].as_array().unwrap().len(), 1);
    assert_eq!(st["issues"][0]["id"], "2026-w47");
    // Both are due now; the first is finished and not sent again.
    due("2026-12-01T00:00:00Z").expect_code(0);
    assert_eq!(server.message_count(), 8);
    assert_eq!(per_recipient(&server)["reader0@example.org"], 2);
}

#[test]
fn the_dry_run_summary_counts_add_up() {
    let sb = folder(1, 6, "");
    sb.write(
        "subscribers/more.csv",
        "email,status\nreader0@example.org,subscribed\ngone@example.org,unsubscribed\n",
    );
    let r = Run::from(sb.cmd(&["send", ISSUE, "--dry-run", "--limit", "4"]).output().unwrap());
    r.expect_code(0);
    assert_eq!(r.stdout, "dry run: wrote 4 messages to outbox/2026-w47\n");
    let stderr = unstamped(&r.stderr);
    let summary = stderr.lines().find(|l| l.starts_with("2026-w47: ")).unwrap();
    assert!(
        summary.starts_with(
            "2026-w47: written 4, failed 0, skipped 1 (already sent 0, unsubscribed, suppressed or in another shard 1), \
             not attempted 0, left for a later run by --limit 2, "
        ),
        "{summary}"
    );
}
