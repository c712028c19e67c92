//! The state database (`state/newsletter.db`): opening it, WAL and busy
//! timeout, and the ordered schema migrations. Each table's reads and writes
//! live in a submodule: the suppression list, the delivery journal and the
//! journal's writer thread.

pub mod bounces;
pub mod journal;
pub mod runs;
pub mod signups;
pub mod suppression;
pub mod writer;

use anyhow::{bail, Context};
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
    // 3: sign-ups (double opt-in) and their confirmation tokens.
    signups::MIGRATION,
    // 4: one row per run of an issue (how it ended, what it suppressed), and
    // whether a failure was transient (4xx, network): `send --due` retries those.
    "CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        issue_id    TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        outcome     TEXT CHECK (outcome IN ('finished', 'aborted', 'interrupted', 'capped', 'limited', 'marked')),
        detail      TEXT,
        sent        INTEGER NOT NULL DEFAULT 0,
        failed      INTEGER NOT NULL DEFAULT 0,
        suppressed  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_issue ON runs (issue_id, id);
    ALTER TABLE deliveries ADD COLUMN transient INTEGER NOT NULL DEFAULT 0;",
    // 5: bounces and complaints per issue and address; IMAP fetch marks.
    bounces::MIGRATION,
];

/// The schema version this build writes.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Opens (creating the folder and file on first use) and migrates the state
/// database. One connection per thread: connections are cheap and WAL lets
/// readers and one writer at a time proceed while another process writes.
pub fn open(state_dir: &Path) -> anyhow::Result<Connection> {
    // The database holds addresses: a folder this creates is owner-only.
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(state_dir)
        .with_context(|| format!("cannot create the state folder {}", state_dir.display()))?;
    let path = state_dir.join(DB_FILE);
    let mut conn = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    configure(&conn).with_context(|| format!("cannot configure {}", path.display()))?;
    migrate(&mut conn).with_context(|| format!("cannot migrate {}", path.display()))?;
    Ok(conn)
}

/// Opens the database only if it exists (never creates it) and migrates it.
/// The endpoint reopens this way after the file was replaced: a missing
/// database must be reported, not silently recreated empty.
pub fn open_existing(state_dir: &Path) -> anyhow::Result<Connection> {
    use rusqlite::OpenFlags;
    let path = state_dir.join(DB_FILE);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let mut conn =
        Connection::open_with_flags(&path, flags).with_context(|| format!("cannot open {}", path.display()))?;
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
    fn newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = format!("{:#}", open(dir.path()).unwrap_err());
        assert!(err.contains("schema version 99, newer than this build"), "{err}");
    }
}
