//! The state database (`state/newsletter.db`): opening it, WAL and busy
//! timeout, and the ordered schema migrations. Each table's reads and writes
//! live in a submodule: the suppression list, the delivery journal and the
//! journal's writer thread.

pub mod journal;
pub mod suppression;
pub mod writer;

use anyhow::{bail, Context};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// File name of the database inside the state folder.
pub const DB_FILE: &str = "newsletter.db";

/// How long a writer waits for another process (a running `send`, the
/// one-click endpoint) to release the database before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations, applied in order. `PRAGMA user_version` records how
/// many have run. Append new entries at the end; never edit or reorder one
/// that has shipped, because existing databases have already applied it.
const MIGRATIONS: &[&str] = &[
    // 1: the suppression list. Addresses are stored lower-cased.
    "CREATE TABLE suppression (
        email      TEXT PRIMARY KEY NOT NULL,
        reason     TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'manual')),
        source     TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 2: the delivery journal: one row per (issue, recipient), one per issue.
    "CREATE TABLE deliveries (
        issue_id   TEXT NOT NULL,
        email      TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
        attempts   INTEGER NOT NULL DEFAULT 0,
        message_id TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at    TEXT,
        PRIMARY KEY (issue_id, email)
    ) WITHOUT ROWID;
    CREATE TABLE issue_runs (
        issue_id    TEXT PRIMARY KEY,
        started_at  TEXT NOT NULL,
        last_run_at TEXT NOT NULL,
        finished_at TEXT
    );",
    // 3: a compact journal. One row per (issue, recipient) of integers only:
    // the issue's number, the order in which the run took the recipient,
    // the address id (`address::id`, SHA-256 of the lower-cased address,
    // as a signed 64-bit integer), the state (0 sending, 1 sent, 2 failed,
    // 3 pending), attempts, and the time of the last change (Unix seconds;
    // for `sent`, when the server accepted the message). The Message-ID is
    // not stored: it is recomputed from the issue and the address. The last
    // error of a failed recipient, with its address, goes to `send_errors`.
    // Rows are keyed by (issue, seq), so the rows a run writes one after
    // another share pages: a commit touches one or two of them.
    "ALTER TABLE issue_runs ADD COLUMN num INTEGER;
    ALTER TABLE issue_runs ADD COLUMN recipients INTEGER NOT NULL DEFAULT 0;
    UPDATE issue_runs SET num = rowid;
    CREATE UNIQUE INDEX issue_runs_num ON issue_runs (num);
    CREATE TABLE sends (
        issue    INTEGER NOT NULL,
        seq      INTEGER NOT NULL,
        rcpt     INTEGER NOT NULL,
        state    INTEGER NOT NULL CHECK (state IN (0, 1, 2, 3)),
        attempts INTEGER NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (issue, seq)
    ) WITHOUT ROWID;
    CREATE TABLE send_errors (
        issue INTEGER NOT NULL,
        seq   INTEGER NOT NULL,
        email TEXT NOT NULL,
        error TEXT NOT NULL,
        PRIMARY KEY (issue, seq)
    ) WITHOUT ROWID;
    CREATE TEMP TABLE old_rows AS
        SELECT r.num AS issue,
               ROW_NUMBER() OVER (PARTITION BY d.issue_id ORDER BY d.created_at, d.email) - 1 AS seq,
               d.email, d.state, d.attempts, d.last_error,
               coalesce(unixepoch(coalesce(d.sent_at, d.updated_at)), 0) AS at
        FROM deliveries d JOIN issue_runs r ON r.issue_id = d.issue_id;
    INSERT INTO sends (issue, seq, rcpt, state, attempts, at)
        SELECT issue, seq, newsletter_address_id(email),
               CASE state WHEN 'sending' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 ELSE 3 END,
               attempts, at
        FROM old_rows;
    INSERT INTO send_errors (issue, seq, email, error)
        SELECT issue, seq, email, coalesce(last_error, '') FROM old_rows WHERE state = 'failed';
    UPDATE issue_runs SET recipients = (SELECT count(*) FROM old_rows WHERE old_rows.issue = issue_runs.num);
    DROP TABLE old_rows;
    DROP TABLE deliveries;",
];

/// The schema version this build writes.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Opens (creating the folder and file on first use) and migrates the state
/// database. One connection per thread: connections are cheap and WAL lets
/// readers and one writer at a time proceed while another process writes.
pub fn open(state_dir: &Path) -> anyhow::Result<Connection> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create the state folder {}", state_dir.display()))?;
    let path = state_dir.join(DB_FILE);
    let mut conn = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    configure(&conn).with_context(|| format!("cannot configure {}", path.display()))?;
    migrate(&mut conn).with_context(|| format!("cannot migrate {}", path.display()))?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with the mode in effect; WAL persists in the file.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The WAL is reused from its start after each checkpoint; this trims
    // the file back when one transaction made it grow.
    conn.pragma_update(None, "journal_size_limit", 8 << 20)?;
    // Migration 3 computes address ids in SQL.
    conn.create_scalar_function(
        "newsletter_address_id",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(crate::address::id(&ctx.get::<String>(0)?) as i64),
    )?;
    Ok(())
}

/// Applies the migrations this database has not seen, all in one immediate
/// transaction so that two processes opening a new database do not race.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let known = MIGRATIONS.len();
    let version = user_version(conn)?;
    if version == known {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = user_version(&tx)?;
    if version > known {
        bail!("the database has schema version {version}, newer than this build of newsletter understands ({known}); upgrade newsletter");
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql).with_context(|| format!("migration {}", i + 1))?;
    }
    tx.pragma_update(None, "user_version", known as i64)?;
    tx.commit()?;
    Ok(())
}

fn user_version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map(|v| v.max(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_folder_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let conn = open(&state).unwrap();
        assert_eq!(user_version(&conn).unwrap(), schema_version());
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        // Re-opening must not re-run migration 1 (CREATE TABLE would fail).
        let conn = open(&state).unwrap();
        assert_eq!(user_version(&conn).unwrap(), schema_version());
    }

    #[test]
    fn migration_3_moves_old_journal_rows_into_the_compact_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        {
            // A database as version 2 left it.
            let conn = Connection::open(&path).unwrap();
            configure(&conn).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(MIGRATIONS[1]).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch(
                "INSERT INTO issue_runs VALUES ('w1', '2026-11-20T08:00:00.000Z', '2026-11-20T09:00:00.000Z', NULL);
                 INSERT INTO deliveries VALUES
                   ('w1', 'a@x.org', 'sent', 1, '<m1>', NULL, '2026-11-20T08:00:00.000Z', '2026-11-20T08:00:05.000Z', '2026-11-20T08:00:05.000Z'),
                   ('w1', 'b@x.org', 'failed', 2, '<m2>', 'SMTP RCPT TO: server replied 550 5.1.1 no', '2026-11-20T08:00:00.000Z', '2026-11-20T08:01:00.000Z', NULL),
                   ('w1', 'c@x.org', 'pending', 0, '<m3>', NULL, '2026-11-20T08:00:00.000Z', '2026-11-20T08:00:00.000Z', NULL);",
            )
            .unwrap();
        }
        let conn = open(dir.path()).unwrap();
        assert_eq!(user_version(&conn).unwrap(), schema_version());
        let s = journal::issue_status(&conn, "w1").unwrap();
        assert_eq!((s.recipients, s.sent, s.failed, s.pending), (3, 1, 1, 1));
        assert_eq!(s.failures[0].email, "b@x.org");
        assert_eq!(s.failures[0].attempts, 2);
        assert_eq!(s.failures[0].at, "2026-11-20T08:01:00Z");
        assert_eq!(
            s.failures[0].error.as_deref(),
            Some("SMTP RCPT TO: server replied 550 5.1.1 no")
        );
        assert_eq!(
            journal::sent_ids(&conn, "w1").unwrap(),
            vec![crate::address::id("a@x.org")]
        );
        let at: i64 = conn
            .query_row("SELECT at FROM sends WHERE state = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(at, 1_795_161_605, "the sent time, in Unix seconds");
        let old: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
    }

    #[test]
    fn newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = format!("{:#}", open(dir.path()).unwrap_err());
        assert!(err.contains("schema version 99, newer than this build"), "{err}");
    }
}
