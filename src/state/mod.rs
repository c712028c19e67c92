//! The state database (`state/newsletter.db`): opening it, WAL and busy
//! timeout, and the ordered schema migrations. Each table's reads and writes
//! live in a submodule: the suppression list, the delivery journal and the
//! journal's writer thread.

pub mod bounces;
mod guard;
pub mod journal;
pub mod runs;
pub mod signups;
pub mod suppression;
pub mod writer;

use anyhow::{bail, Context};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::os::unix::fs::OpenOptionsExt;
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
    // 6: a compact journal. One row per (issue, recipient) in `sends`, of
    // integers only: the number (`issue_runs.num`), the order in
    // which a run took the recipient, the address id (`address::id`: SHA-256
    // of the lower-cased address, as a signed 64-bit integer), the state
    // (0 sending, 1 sent, 2 failed, 3 pending), attempts, and the time of the
    // last change (Unix seconds; for `sent`, when the server accepted it).
    // The Message-ID is not stored: it is recomputed from the issue and the
    // address. A failed recipient's address, last error, whether it was
    // transient and when it first failed go to `send_errors`. Rows are keyed
    // by (issue, seq), so the rows a run writes one after another share
    // pages: a commit touches one or two of them. `issue_runs` gets its
    // number (set by a trigger for every new row) and the number of
    // recipients the last run planned (those without a row are pending).
    "ALTER TABLE issue_runs ADD COLUMN num INTEGER;
    ALTER TABLE issue_runs ADD COLUMN recipients INTEGER NOT NULL DEFAULT 0;
    UPDATE issue_runs SET num = rowid;
    CREATE UNIQUE INDEX issue_runs_num ON issue_runs (num);
    CREATE TRIGGER issue_runs_number AFTER INSERT ON issue_runs WHEN new.num IS NULL
    BEGIN
        UPDATE issue_runs SET num = (SELECT coalesce(max(num), 0) + 1 FROM issue_runs)
        WHERE issue_id = new.issue_id;
    END;
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
        issue     INTEGER NOT NULL,
        seq       INTEGER NOT NULL,
        email     TEXT NOT NULL,
        error     TEXT NOT NULL,
        transient INTEGER NOT NULL DEFAULT 0,
        first_at  INTEGER NOT NULL,
        PRIMARY KEY (issue, seq)
    ) WITHOUT ROWID;
    CREATE TEMP TABLE old_rows AS
        SELECT r.num AS issue,
               ROW_NUMBER() OVER (PARTITION BY d.issue_id ORDER BY d.created_at, d.email) - 1 AS seq,
               d.email, d.state, d.attempts, d.last_error, d.transient,
               coalesce(unixepoch(coalesce(d.sent_at, d.updated_at)), 0) AS at,
               coalesce(unixepoch(d.created_at), 0) AS first_at
        FROM deliveries d JOIN issue_runs r ON r.issue_id = d.issue_id;
    INSERT INTO sends (issue, seq, rcpt, state, attempts, at)
        SELECT issue, seq, newsletter_address_id(email),
               CASE state WHEN 'sending' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 ELSE 3 END,
               attempts, at
        FROM old_rows;
    INSERT INTO send_errors (issue, seq, email, error, transient, first_at)
        SELECT issue, seq, email, coalesce(last_error, ''), transient, first_at
        FROM old_rows WHERE state = 'failed';
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
///
/// The folder is owner-only (0700) and the file 0600 (SQLite gives its
/// `-wal` and `-shm` files the database's permissions). A new database is
/// built under a temporary name and linked into place complete, so the path
/// never holds an empty file; an empty file found there is refused, since
/// starting afresh would silently drop the suppression list.
pub fn open(state_dir: &Path) -> anyhow::Result<Connection> {
    crate::files::create_private_dir(state_dir)
        .with_context(|| format!("cannot create the state folder {}", state_dir.display()))?;
    let path = state_dir.join(DB_FILE);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() && meta.len() == 0 => return Err(empty_database(&path)),
        Ok(meta) if !meta.is_file() => {
            let kind = crate::files::irregular_kind(meta.file_type()).unwrap_or("not a regular file");
            let e = anyhow::anyhow!("it is {kind}, not a database file");
            return Err(e.context(format!("cannot open {}", path.display())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(copy) = guard::rescued_copies(&path).last() {
                return Err(crate::exit::Failure::new(
                    crate::exit::Exit::Invalid,
                    format!(
                        "{} is missing, and {} holds a journal saved when the database was deleted or replaced during a run: \
                         move that file back to {} to resume, or delete it to start afresh",
                        path.display(),
                        copy.display(),
                        path.display()
                    ),
                ));
            }
            create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
    // Without SQLITE_OPEN_CREATE: a file that vanished since is an error, not a new empty database.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn =
        Connection::open_with_flags(&path, flags).with_context(|| format!("cannot open {}", path.display()))?;
    configure(&conn).with_context(|| format!("cannot configure {}", path.display()))?;
    migrate(&mut conn).with_context(|| format!("cannot migrate {}", path.display()))?;
    Ok(conn)
}

fn empty_database(path: &Path) -> anyhow::Error {
    crate::exit::Failure::new(
        crate::exit::Exit::Invalid,
        format!(
            "{} is empty (0 bytes): refusing to start a new database over it, which would lose the \
             suppression list and the delivery journal; restore it from a backup, or delete it if \
             you are sure it held nothing",
            path.display()
        ),
    )
}

/// Builds a new database at a temporary name (owner-only, migrated, closed)
/// and links it to `path`; when another process got there first, theirs is kept.
fn create(path: &Path) -> anyhow::Result<()> {
    let tmp = path.with_file_name(format!(".{DB_FILE}.new-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let built = (|| -> anyhow::Result<()> {
        let mut conn = Connection::open(&tmp)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        // Closing the last connection folds the WAL into the file.
        conn.close().map_err(|(_, e)| e)?;
        match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e.into()),
            _ => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    built
}

/// Opens the database only if it exists (never creates it) and migrates it.
/// The endpoint reopens this way after the file was replaced: a missing
/// database must be reported, not silently recreated empty.
pub fn open_existing(state_dir: &Path) -> anyhow::Result<Connection> {
    let path = state_dir.join(DB_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Err(empty_database(&path));
    }
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
    // The WAL is reused from its start after each checkpoint; this trims
    // the file back when one transaction made it grow.
    conn.pragma_update(None, "journal_size_limit", 8 << 20)?;
    // Migration 6 computes address ids in SQL.
    conn.create_scalar_function(
        "newsletter_address_id",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(crate::address::id(&ctx.get::<String>(0)?) as i64),
    )?;
    Ok(())
}

/// The address ids ([`crate::address::id`]) of the addresses `sql` selects
/// (one text column), sorted: 8 bytes each, for checking a long list
/// without holding its addresses. Two addresses can share an id, so the
/// caller confirms a hit by the address.
fn sorted_address_ids(conn: &Connection, sql: &str) -> anyhow::Result<Vec<u64>> {
    let mut stmt = conn.prepare(sql)?;
    let mut ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .map(|e| e.map(|e| crate::address::id(&e)))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
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
    fn an_empty_file_is_refused_and_a_new_database_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let old = unsafe { libc::umask(0o022) };
        let conn = open(&state);
        unsafe { libc::umask(old) };
        let conn = conn.unwrap();
        conn.execute_batch("INSERT INTO suppression VALUES ('a@b.c', 'manual', 't', 't')")
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        for f in [DB_FILE, "newsletter.db-wal", "newsletter.db-shm"] {
            assert_eq!(mode(&state.join(f)), 0o600, "{f}");
        }
        drop(conn);
        std::fs::write(state.join(DB_FILE), b"").unwrap();
        let err = format!("{:#}", open(&state).unwrap_err());
        assert!(
            err.starts_with(&format!(
                "{} is empty (0 bytes): refusing",
                state.join(DB_FILE).display()
            )),
            "{err}"
        );
        assert_eq!(
            std::fs::metadata(state.join(DB_FILE)).unwrap().len(),
            0,
            "left as it was"
        );
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

#[cfg(test)]
#[path = "migration_tests.rs"]
mod migration_tests;
