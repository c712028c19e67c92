//! Migration 6 against a database as version 5 left it: the old journal's
//! rows end up in the compact tables with their states, errors, transient
//! flags and times, and new issues get their numbers.

use super::*;

fn version_5(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    configure(&conn).unwrap();
    for sql in &MIGRATIONS[..5] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 5).unwrap();
    conn
}

#[test]
fn migration_6_moves_old_journal_rows_into_the_compact_tables() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = version_5(&dir.path().join(DB_FILE));
        conn.execute_batch(
            "INSERT INTO issue_runs VALUES ('w1', '2026-11-20T08:00:00.000Z', '2026-11-20T09:00:00.000Z', NULL);
             INSERT INTO deliveries (issue_id, email, state, attempts, message_id, last_error, created_at, updated_at, sent_at, transient) VALUES
               ('w1', 'a@x.org', 'sent', 1, '<m1>', NULL, '2026-11-20T08:00:00.000Z', '2026-11-20T08:00:05.000Z', '2026-11-20T08:00:05.000Z', 0),
               ('w1', 'b@x.org', 'failed', 2, '<m2>', 'SMTP RCPT TO: server replied 451 4.3.0 later', '2026-11-20T08:00:00.000Z', '2026-11-20T08:01:00.000Z', NULL, 1),
               ('w1', 'c@x.org', 'pending', 0, '<m3>', NULL, '2026-11-20T08:00:00.000Z', '2026-11-20T08:00:00.000Z', NULL, 0);",
        )
        .unwrap();
    }
    let mut conn = open(dir.path()).unwrap();
    assert_eq!(user_version(&conn).unwrap(), schema_version());
    let s = journal::issue_status(&conn, "w1").unwrap();
    assert_eq!((s.recipients, s.sent, s.failed, s.pending), (3, 1, 1, 1));
    assert_eq!(s.failures[0].email, "b@x.org");
    assert_eq!(s.failures[0].attempts, 2);
    assert_eq!(s.failures[0].at, "2026-11-20T08:01:00Z");
    assert_eq!(
        s.failures[0].error.as_deref(),
        Some("SMTP RCPT TO: server replied 451 4.3.0 later")
    );
    let resume = journal::resume(&conn, "w1").unwrap();
    assert_eq!(resume.sent, vec![crate::address::id("a@x.org")]);
    let at: i64 = conn
        .query_row("SELECT at FROM sends WHERE state = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(at, 1_795_161_605, "the sent time, in Unix seconds");
    let p = &journal::progress(&conn).unwrap()["w1"];
    assert_eq!(p.transient.len(), 1);
    assert_eq!(p.transient[0].email, "b@x.org");
    assert_eq!(p.transient[0].attempts, 2);
    assert_eq!(p.transient[0].first_planned.to_rfc3339(), "2026-11-20T08:00:00+00:00");
    assert_eq!(p.unsent, 1);
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0);
    // A new issue, however its row is made, gets the next number.
    let next = journal::begin_run(&mut conn, "w2", Some(0)).unwrap();
    assert_eq!(next.issue, 2);
    runs::mark_sent(&mut conn, "w3").unwrap();
    let n: i64 = conn
        .query_row("SELECT num FROM issue_runs WHERE issue_id = 'w3'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}
