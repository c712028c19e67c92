//! Where a run's recipients come from, read as streams: the entries of a
//! source go one at a time to a [`Visitor`], and a source can be read again
//! (the planner reads it up to three times) in the same order.
//!
//! A run reads the subscriber files ([`Files`]) and then the confirmed
//! sign-ups kept in the state database ([`Signups`]), chained with
//! [`Chain`]. Another source implements [`Source`] the same way, giving
//! every entry a `file` that names where it came from and an order in which
//! new entries come last. An address in two sources is a duplicate and the
//! first source's entry wins; a rule such as "a confirmed sign-up makes an
//! unsubscribed file entry active again" lives in the planner's per-entry
//! decision (`recipients::Rules::confirmed`), which looks the address up.

use crate::exit::{self, Exit};
use crate::state::{self, signups};
use crate::subscribers::{self, Subscriber, Visitor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Recipients read as a stream.
pub trait Source: Sync {
    /// Sends every entry to `v`, in the same order on every call, and the
    /// problems of entries that are not valid; an error when the source
    /// cannot be read at all (a broken state database).
    fn read(&self, v: &mut dyn Visitor) -> anyhow::Result<()>;
}

/// The subscriber files of a folder (`[paths] subscribers`), in name order.
pub struct Files {
    pub dir: PathBuf,
}

impl Source for Files {
    fn read(&self, v: &mut dyn Visitor) -> anyhow::Result<()> {
        subscribers::visit(&self.dir, v);
        Ok(())
    }
}

/// The confirmed sign-ups in the state database of `state_dir` (none when
/// there is no database: a dry run on a fresh folder must not create one).
/// Their entries have the database as their file and line 0.
pub struct Signups {
    pub state_dir: PathBuf,
}

impl Source for Signups {
    fn read(&self, v: &mut dyn Visitor) -> anyhow::Result<()> {
        let db = self.state_dir.join(state::DB_FILE);
        if !db.is_file() {
            return Ok(());
        }
        let cannot = |e| exit::default_to(e, Exit::Aborted, "cannot read the sign-ups in the state database");
        let conn = state::open(&self.state_dir).map_err(cannot)?;
        let file: Arc<Path> = Arc::from(db.as_path());
        signups::each_confirmed(&conn, &mut |email, name| {
            v.entry(Subscriber::signup(email, name, &file));
            !v.stopped()
        })
        .map_err(cannot)
    }
}

/// Sources read one after another.
pub struct Chain(pub Vec<Box<dyn Source>>);

impl Source for Chain {
    fn read(&self, v: &mut dyn Visitor) -> anyhow::Result<()> {
        for source in &self.0 {
            if v.stopped() {
                break;
            }
            source.read(v)?;
        }
        Ok(())
    }
}

/// An edit of a [`Listed`] source between two reads.
#[cfg(test)]
pub(crate) type Change = Box<dyn FnOnce(&mut Vec<subscribers::Subscriber>) + Send>;

/// Entries held in memory, for tests; `changes` edits them between reads to
/// play a list that changes during a send.
#[cfg(test)]
pub(crate) struct Listed {
    pub entries: std::sync::Mutex<Vec<subscribers::Subscriber>>,
    pub changes: std::sync::Mutex<Vec<Change>>,
}

#[cfg(test)]
impl Listed {
    pub fn new(entries: Vec<subscribers::Subscriber>) -> Self {
        Listed {
            entries: std::sync::Mutex::new(entries),
            changes: std::sync::Mutex::new(Vec::new()),
        }
    }
}

#[cfg(test)]
impl Source for Listed {
    fn read(&self, v: &mut dyn Visitor) -> anyhow::Result<()> {
        let mut entries = self.entries.lock().unwrap();
        let mut changes = self.changes.lock().unwrap();
        if !changes.is_empty() {
            let change = changes.remove(0);
            change(&mut entries);
        }
        for e in entries.iter() {
            if v.stopped() {
                break;
            }
            v.entry(e.clone());
        }
        Ok(())
    }
}
