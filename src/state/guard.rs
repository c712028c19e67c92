//! Watching the database file during a run. SQLite keeps writing into an
//! open file that was deleted or replaced under it, and as root it writes
//! into one made read-only: the run would end with exit 0 and a journal no
//! later run can see, so a re-run would mail everyone again. The journal
//! writer checks after every commit that the path still names the file it
//! opened and that the file is still writable, and stops the run otherwise.
//!
//! In both of the first cases the open copy is saved next to the path as
//! `newsletter.db.rescued-<time>` (the folder is made again if needed), and
//! while such a copy exists `state::open` refuses to start a new database,
//! so a re-run cannot mail everyone again by mistake. The copy is not put
//! back in place by itself: this process still has the old file's `-wal`
//! open under the same name, and another process opening a restored file
//! next to it could replay the wrong log.

use anyhow::{bail, Context};
use rusqlite::Connection;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file a connection opened: its path and identity.
pub struct DbGuard {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl DbGuard {
    /// Notes which file `conn` has open; None for an in-memory database.
    pub fn new(conn: &Connection) -> anyhow::Result<Option<DbGuard>> {
        let Some(path) = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from) else {
            return Ok(None);
        };
        let meta = std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let guard = DbGuard {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
        };
        guard.check(conn)?;
        Ok(Some(guard))
    }

    /// Errs when the path no longer names the opened file or it became read-only.
    pub fn check(&self, conn: &Connection) -> anyhow::Result<()> {
        let path = self.path.display();
        match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let copy = rescue_path(&self.path);
                let saved = rescue(conn, &copy);
                if saved.is_ok() {
                    forget_log(&self.path);
                }
                let saved = saved.map_or_else(
                    |e| format!("its journal could not be saved ({e:#}): a re-run would mail everyone again"),
                    |()| {
                        format!(
                            "its journal was saved to {}: move that file back to {path} to resume \
                             (until then newsletter refuses to start a new database)",
                            copy.display()
                        )
                    },
                );
                bail!("the state database {path} was deleted during the run; {saved}")
            }
            Err(e) => bail!("cannot check the state database {path}: {e}"),
            Ok(meta) if (meta.dev(), meta.ino()) != (self.dev, self.ino) => {
                let copy = rescue_path(&self.path);
                let saved = rescue(conn, &copy).map_or_else(
                    |e| format!("the run's journal could not be saved ({e:#})"),
                    |()| format!("the run's journal was saved to {}", copy.display()),
                );
                bail!("the state database {path} was replaced by another file during the run; {saved}")
            }
            Ok(meta) if meta.permissions().mode() & 0o222 == 0 => {
                bail!("the state database {path} was made read-only during the run")
            }
            Ok(_) => Ok(()),
        }
    }
}

/// The name part of a saved copy: `newsletter.db.rescued-<time>`.
pub const RESCUED: &str = ".rescued-";

/// Where the open copy goes: next to the database, named by time.
fn rescue_path(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!("{RESCUED}{stamp}"));
    path.with_file_name(name)
}

/// Saved copies next to `path` (see [`RESCUED`]), sorted.
pub fn rescued_copies(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}{RESCUED}", name.to_string_lossy());
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Unlinks the `-wal` and `-shm` files of a deleted database, once its
/// journal is saved. They stay behind when this process ends (SQLite cannot
/// fold its log into a file that is gone), and a database moved back to the
/// path later would replay that old log over its own pages: "database disk
/// image is malformed". This process keeps writing into them through the
/// files it has open; nothing else can be using them, the database is gone.
fn forget_log(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Writes the database `conn` has open to `to` (owner-only), which must not exist.
fn rescue(conn: &Connection, to: &Path) -> anyhow::Result<()> {
    if let Some(dir) = to.parent() {
        crate::files::create_private_dir(dir)?;
    }
    // VACUUM INTO needs an absent or empty file: an empty owner-only one
    // gives the copy its permissions.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    let target = to.to_str().context("the path is not UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("cannot write {}", to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with_a_suppression(dir: &Path) -> Connection {
        let conn = super::super::open(dir).unwrap();
        conn.execute_batch("INSERT INTO suppression VALUES ('a@b.c', 'manual', 't', 't')")
            .unwrap();
        conn
    }

    fn suppressions(path: &Path) -> i64 {
        let conn = Connection::open(path).unwrap();
        conn.query_row("SELECT count(*) FROM suppression", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_deleted_database_is_saved_and_blocks_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let conn = db_with_a_suppression(dir.path());
        let guard = DbGuard::new(&conn).unwrap().expect("a file");
        guard.check(&conn).unwrap();
        let db = dir.path().join(super::super::DB_FILE);
        std::fs::remove_file(&db).unwrap();
        let err = guard.check(&conn).unwrap_err().to_string();
        let copies = rescued_copies(&db);
        assert_eq!(copies.len(), 1, "{err}");
        assert_eq!(
            err,
            format!(
                "the state database {} was deleted during the run; its journal was saved to {}: move that \
                 file back to {} to resume (until then newsletter refuses to start a new database)",
                db.display(),
                copies[0].display(),
                db.display()
            )
        );
        let wal = dir.path().join(format!("{}-wal", super::super::DB_FILE));
        assert!(!wal.exists(), "the deleted database's log is gone with it");
        drop(conn);
        let refused = format!("{:#}", super::super::open(dir.path()).unwrap_err());
        assert!(refused.contains("is missing, and"), "{refused}");
        std::fs::rename(&copies[0], &db).unwrap();
        assert_eq!(suppressions(&db), 1, "nothing lost");
        super::super::open(dir.path()).unwrap();
    }

    #[test]
    fn a_replaced_or_read_only_database_stops_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let conn = db_with_a_suppression(dir.path());
        let guard = DbGuard::new(&conn).unwrap().expect("a file");
        let db = dir.path().join(super::super::DB_FILE);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            guard.check(&conn).unwrap_err().to_string(),
            format!("the state database {} was made read-only during the run", db.display())
        );
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::rename(&db, dir.path().join("old.db")).unwrap();
        std::fs::write(&db, b"another file").unwrap();
        let err = guard.check(&conn).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "the state database {} was replaced by another file during the run; the run's journal was saved to",
                db.display()
            )),
            "{err}"
        );
        assert_eq!(suppressions(&rescued_copies(&db)[0]), 1);
        assert_eq!(
            std::fs::read(&db).unwrap(),
            b"another file",
            "the new file is left alone"
        );
    }
}
