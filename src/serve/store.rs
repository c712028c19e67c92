//! The endpoint's access to the state database. Each change runs on a
//! blocking thread with one shared connection (SQLite takes one writer at a
//! time anyway; WAL and the busy timeout let a `send` run write meanwhile).
//!
//! A change counts as stored only if the database file it went into is still
//! the one at `state/newsletter.db` afterwards: a deleted file keeps working
//! through our open handle, and a 200 for a change written into a deleted
//! file would be a lie. Any failure becomes [`Unavailable`]: the handler
//! answers 503 and logs why.

use crate::state;
use anyhow::Context;
use rusqlite::Connection;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why a request could not be served; logged, answered with 503.
#[derive(Debug)]
pub struct Unavailable(pub String);

pub struct Store {
    dir: PathBuf,
    path: PathBuf,
    inner: Mutex<Open>,
}

struct Open {
    conn: Connection,
    /// (device, inode) of the file `conn` has open.
    identity: (u64, u64),
}

fn identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino()))
}

impl Store {
    /// Opens (creating and migrating on first use) the database in `dir`.
    pub fn open(dir: PathBuf) -> anyhow::Result<Arc<Store>> {
        let conn = state::open(&dir)?;
        let path = dir.join(state::DB_FILE);
        let identity = identity(&path).with_context(|| format!("{}", path.display()))?;
        Ok(Arc::new(Store {
            dir,
            path,
            inner: Mutex::new(Open { conn, identity }),
        }))
    }

    /// Runs `f` on the database on a blocking thread. `verify_after`: check
    /// that the file is still in place once `f` returned (for changes).
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        verify_after: bool,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Unavailable> {
        let store = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let mut open = store.inner.lock().unwrap_or_else(|e| e.into_inner());
            store.current(&mut open)?;
            let out = f(&mut open.conn)
                .map_err(|e| Unavailable(format!("state database {}: {e:#}", store.path.display())))?;
            if verify_after {
                store.current(&mut open)?;
            }
            Ok(out)
        })
        .await;
        joined.unwrap_or_else(|e| Err(Unavailable(format!("database task failed: {e}"))))
    }

    /// A change: 503 unless it is stored in the database file in place.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Unavailable> {
        self.run(true, f).await
    }

    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Unavailable> {
        self.run(false, f).await
    }

    /// Makes sure `open` is the file at `path`: reopens after the file was
    /// replaced (a restored backup), refuses when it is gone.
    fn current(&self, open: &mut Open) -> Result<(), Unavailable> {
        let now = identity(&self.path)
            .map_err(|e| Unavailable(format!("the state database {} is gone ({e})", self.path.display())))?;
        if now != open.identity {
            let conn = state::open_existing(&self.dir).map_err(|e| Unavailable(format!("{e:#}")))?;
            *open = Open { conn, identity: now };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_vanished_or_read_only_database_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let store = Store::open(state.clone()).unwrap();
        let insert = |c: &mut Connection| {
            state::suppression::suppress(c, "a@example.com", state::suppression::Reason::Manual, "t")
        };
        assert!(block_on(store.write(insert)).unwrap());

        // Moved away and back: reopened, works.
        std::fs::rename(&state, dir.path().join("moved")).unwrap();
        let gone = block_on(store.write(insert)).unwrap_err();
        assert!(gone.0.contains("is gone"), "{}", gone.0);
        std::fs::rename(dir.path().join("moved"), &state).unwrap();
        assert!(
            !block_on(store.write(insert)).unwrap(),
            "same file again, the row is there"
        );

        // A connection that cannot write (what a read-only remount looks like to SQLite).
        let db = state.join(state::DB_FILE);
        let ro = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        store.inner.lock().unwrap().conn = ro;
        let insert_b = |c: &mut Connection| {
            state::suppression::suppress(c, "b@example.com", state::suppression::Reason::Manual, "t")
        };
        let ro_err = block_on(store.write(insert_b)).unwrap_err();
        assert!(ro_err.0.contains("readonly"), "{}", ro_err.0);
    }
}
