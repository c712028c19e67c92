//! Tests of the bounce records: idempotent imports, thresholds and their windows.

use super::*;
use crate::state::journal;

fn rec(report: &str, email: &str, issue: Option<&str>, class: Class) -> Record {
    Record {
        report: report.into(),
        email: email.into(),
        issue_id: issue.map(str::to_string),
        class,
        reason: "mailboxfull".into(),
        status: Some("5.2.2".into()),
        diagnostic: "552 5.2.2 full".into(),
        feedback_type: None,
        matched_by: "message-id",
        source: "test".into(),
    }
}

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::state::open(dir.path()).unwrap();
    for (i, issue) in ["w1", "w2", "w3", "w4", "w5", "w6"].iter().enumerate() {
        journal::begin_run(&mut conn, issue, Some(0)).unwrap();
        // Distinct start times, in order.
        conn.execute(
            "UPDATE issue_runs SET started_at = ?2 WHERE issue_id = ?1",
            params![issue, format!("2026-01-0{}T00:00:00.000Z", i + 1)],
        )
        .unwrap();
    }
    (dir, conn)
}

#[test]
fn a_report_counts_once() {
    let (_d, conn) = db();
    let r = rec("<r1@mx>", "A@x.org", Some("w1"), Class::Hard);
    assert!(record(&conn, &r).unwrap());
    assert!(!record(&conn, &r).unwrap());
    let c = counts_by_issue(&conn).unwrap();
    assert_eq!(
        c[&Some("w1".to_string())],
        Counts {
            hard: 1,
            soft: 0,
            complaints: 0
        }
    );
}

#[test]
fn hard_and_complaints_suppress_at_their_thresholds() {
    let (_d, conn) = db();
    let th = Thresholds::default();
    record(&conn, &rec("<r1@mx>", "a@x.org", Some("w6"), Class::Hard)).unwrap();
    let mut c = rec("<r2@fbl>", "b@x.org", None, Class::Complaint);
    c.feedback_type = Some("abuse".into());
    record(&conn, &c).unwrap();
    let s = apply_thresholds(&conn, &th, &["a@x.org".into(), "b@x.org".into()]).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].reason, s[0].why.as_str()),
        (
            Suppression::Bounced,
            "1 hard bounce(s), last: mailboxfull 5.2.2, issue w6"
        )
    );
    assert_eq!(
        (s[1].reason, s[1].why.as_str()),
        (Suppression::Complained, "1 complaint(s), last: abuse 5.2.2")
    );
    // Already suppressed: nothing new.
    assert!(apply_thresholds(&conn, &th, &["a@x.org".into()]).unwrap().is_empty());
    let th2 = Thresholds { hard: 2, ..th };
    record(&conn, &rec("<r3@mx>", "c@x.org", Some("w6"), Class::Hard)).unwrap();
    assert!(apply_thresholds(&conn, &th2, &["c@x.org".into()]).unwrap().is_empty());
    assert_eq!(unsuppressed_addresses(&conn).unwrap(), vec!["c@x.org".to_string()]);
}

#[test]
fn soft_bounces_count_once_per_issue_in_the_window() {
    let (_d, conn) = db();
    let th = Thresholds::default();
    let a = || vec!["a@x.org".to_string()];
    // Two reports about one issue, and one about an issue outside the last 5.
    record(&conn, &rec("<1@mx>", "a@x.org", Some("w6"), Class::Soft)).unwrap();
    record(&conn, &rec("<2@mx>", "a@x.org", Some("w6"), Class::Soft)).unwrap();
    record(&conn, &rec("<3@mx>", "a@x.org", Some("w1"), Class::Soft)).unwrap();
    record(&conn, &rec("<4@mx>", "a@x.org", Some("w5"), Class::Soft)).unwrap();
    assert!(
        apply_thresholds(&conn, &th, &a()).unwrap().is_empty(),
        "2 issues of the window"
    );
    // A report not tied to an issue, received now (after w2 started), counts.
    record(&conn, &rec("<5@mx>", "a@x.org", None, Class::Soft)).unwrap();
    let s = apply_thresholds(&conn, &th, &a()).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].reason, Suppression::Bounced);
    assert!(
        s[0].why.starts_with("soft bounces in 3 of the last 5 issue(s), last: "),
        "{}",
        s[0].why
    );
}

#[test]
fn imap_marks_round_trip() {
    let (_d, conn) = db();
    assert_eq!(imap_mark(&conn, "u@h:993/INBOX").unwrap(), None);
    set_imap_mark(&conn, "u@h:993/INBOX", 7, 12).unwrap();
    set_imap_mark(&conn, "u@h:993/INBOX", 7, 15).unwrap();
    assert_eq!(imap_mark(&conn, "u@h:993/INBOX").unwrap(), Some((7, 15)));
}
