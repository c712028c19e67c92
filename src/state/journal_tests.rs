//! The journal's reads and whole-run writes against a real database.

use super::*;

#[test]
fn states_round_trip_and_unknown_is_an_error() {
    for s in DeliveryState::ALL {
        assert_eq!(s.as_str().parse::<DeliveryState>().unwrap(), s);
        assert_eq!(DeliveryState::from_code(s.code()).unwrap(), s);
    }
    let e = "delivered".parse::<DeliveryState>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "the journal holds an unknown delivery state \"delivered\""
    );
    let e = DeliveryState::from_code(7).unwrap_err();
    assert_eq!(e.to_string(), "the journal holds an unknown delivery state 7");
}

fn row(conn: &Connection, issue: i64, seq: u32, email: &str, state: DeliveryState, at: i64) {
    conn.execute(
        "INSERT INTO sends (issue, seq, rcpt, state, attempts, at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        params![issue, seq, crate::address::id(email) as i64, state.code(), at],
    )
    .unwrap();
}

fn error(conn: &Connection, issue: i64, seq: u32, email: &str, transient: bool, first_at: i64) {
    conn.execute(
        "INSERT INTO send_errors VALUES (?1, ?2, ?3, 'SMTP RCPT TO: server replied 4xx/5xx', ?4, ?5)",
        params![issue, seq, email, transient, first_at],
    )
    .unwrap();
}

#[test]
fn run_rows_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::state::open(dir.path()).unwrap();
    let start = begin_run(&mut conn, "w1", Some(4)).unwrap();
    assert_eq!(start.next_seq, 0);
    let t = unix_now();
    row(&conn, start.issue, 0, "a@x.org", DeliveryState::Sent, t);
    row(&conn, start.issue, 1, "b@x.org", DeliveryState::Failed, t);
    error(&conn, start.issue, 1, "b@x.org", false, t);
    row(&conn, start.issue, 2, "c@x.org", DeliveryState::Pending, t);
    let r = resume(&conn, "w1").unwrap();
    assert_eq!(r.sent, vec![crate::address::id("A@x.org")]);
    assert_eq!(r.open, HashMap::from([(crate::address::id("b@x.org"), 1)]));
    assert!(finished_issues(&conn).unwrap().is_empty());
    let s = issue_status(&conn, "w1").unwrap();
    assert_eq!((s.recipients, s.sent, s.pending, s.failed), (4, 1, 2, 1));
    assert_eq!(s.failures[0].email, "b@x.org");
    assert_eq!(
        s.failures[0].error.as_deref(),
        Some("SMTP RCPT TO: server replied 4xx/5xx")
    );
    finish_run(&conn, "w1").unwrap();
    assert_eq!(finished_issues(&conn).unwrap(), HashSet::from(["w1".to_string()]));
    assert!(issue_status(&conn, "w1").unwrap().finished_at.is_some());
    assert_eq!(issues(&conn).unwrap(), vec!["w1".to_string()]);
    conn.execute("UPDATE sends SET state = 9 WHERE seq = 1", [])
        .unwrap_err();

    // A second run keeps the sent and failed rows, drops the pending one,
    // and continues after the highest row; None keeps the planned count.
    let again = begin_run(&mut conn, "w1", None).unwrap();
    assert_eq!(
        again,
        RunStart {
            issue: start.issue,
            next_seq: 2
        }
    );
    let s = issue_status(&conn, "w1").unwrap();
    assert_eq!((s.recipients, s.sent, s.pending, s.failed), (4, 1, 2, 1));
    // Another issue gets the next number.
    assert_eq!(begin_run(&mut conn, "w2", Some(0)).unwrap().issue, start.issue + 1);
}

#[test]
fn caps_count_accepted_messages_of_every_recent_issue() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::state::open(dir.path()).unwrap();
    let now = clock();
    let t = now.timestamp();
    for (issue, n) in [("w1", 3u32), ("w2", 2)] {
        let start = begin_run(&mut conn, issue, Some(u64::from(n))).unwrap();
        for seq in 0..n {
            row(
                &conn,
                start.issue,
                seq,
                &format!("r{seq}@x.org"),
                DeliveryState::Sent,
                t - i64::from(seq),
            );
        }
        row(&conn, start.issue, n, "failed@x.org", DeliveryState::Failed, t);
    }
    conn.execute("UPDATE sends SET at = ?1 WHERE issue = 1 AND seq = 0", [t - 7200])
        .unwrap();
    let hour = now - chrono::Duration::hours(1);
    assert_eq!(sent_since(&conn, hour).unwrap(), 4);
    assert_eq!(sent_since(&conn, now - chrono::Duration::days(1)).unwrap(), 5);
    // Oldest first: w1's seq 2 (t - 2), then seq 1 and w2's seq 1 (t - 1), then t.
    assert_eq!(nth_sent_since(&conn, hour, 0).unwrap(), Some(from_unix(t - 2)));
    assert_eq!(nth_sent_since(&conn, hour, 3).unwrap(), Some(from_unix(t)));
    assert_eq!(nth_sent_since(&conn, hour, 4).unwrap(), None);
    // An issue finished before the window cannot have sent in it.
    conn.execute(
        "UPDATE issue_runs SET finished_at = '2000-01-01T00:00:00.000Z' WHERE issue_id = 'w1'",
        [],
    )
    .unwrap();
    assert_eq!(sent_since(&conn, hour).unwrap(), 2);
}

#[test]
fn progress_counts_unsent_and_lists_transient_failures() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::state::open(dir.path()).unwrap();
    let t = unix_now();
    let w1 = begin_run(&mut conn, "w1", Some(10)).unwrap();
    row(&conn, w1.issue, 0, "a@x.org", DeliveryState::Sent, t);
    row(&conn, w1.issue, 1, "b@x.org", DeliveryState::Failed, t);
    error(&conn, w1.issue, 1, "b@x.org", true, t - 60);
    row(&conn, w1.issue, 2, "c@x.org", DeliveryState::Failed, t);
    error(&conn, w1.issue, 2, "c@x.org", false, t);
    row(&conn, w1.issue, 3, "d@x.org", DeliveryState::Sending, t);
    let w2 = begin_run(&mut conn, "w2", Some(1)).unwrap();
    row(&conn, w2.issue, 0, "a@x.org", DeliveryState::Sent, t);
    finish_run(&conn, "w2").unwrap();
    let p = progress(&conn).unwrap();
    assert_eq!(p["w1"].unsent, 7, "10 planned, 1 sent, 2 failed");
    assert!(!p["w1"].finished && p["w2"].finished);
    assert_eq!(p["w2"].unsent, 0);
    assert_eq!(
        p["w1"].transient,
        [TransientFailure {
            email: "b@x.org".into(),
            attempts: 1,
            failed_at: from_unix(t),
            first_planned: from_unix(t - 60),
        }]
    );
}
