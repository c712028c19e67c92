//! Where a run's recipients come from, read as streams: the entries of a
//! source go one at a time to a [`Visitor`], and a source can be read again
//! (the planner reads it up to three times) in the same order.
//!
//! Today the one source is the subscribers folder ([`Files`]). Another one
//! (confirmed sign-ups kept in the state database) is chained after it with
//! [`Chain`]: implement [`Source`] for it, giving every entry a `file` that
//! names where it came from (the database's path) and a stable order. An
//! address in both is a duplicate, and the first source's entry wins;
//! a rule such as "a confirmed sign-up makes an unsubscribed file entry
//! active again" belongs in the planner's per-entry decision, which can
//! look the address up.

use crate::subscribers::{self, Visitor};
use std::path::PathBuf;

/// Recipients read as a stream.
pub trait Source: Sync {
    /// Sends every entry to `v`, in the same order on every call, and the
    /// problems of entries that are not valid.
    fn read(&self, v: &mut dyn Visitor);
}

/// The subscriber files of a folder (`[paths] subscribers`), in name order.
pub struct Files {
    pub dir: PathBuf,
}

impl Source for Files {
    fn read(&self, v: &mut dyn Visitor) {
        subscribers::visit(&self.dir, v);
    }
}

/// Sources read one after another.
// Not used yet: confirmed sign-ups become the second source (issue 12).
#[allow(dead_code)]
pub struct Chain(pub Vec<Box<dyn Source>>);

impl Source for Chain {
    fn read(&self, v: &mut dyn Visitor) {
        for source in &self.0 {
            if v.stopped() {
                return;
            }
            source.read(v);
        }
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
    fn read(&self, v: &mut dyn Visitor) {
        let mut entries = self.entries.lock().unwrap();
        let mut changes = self.changes.lock().unwrap();
        if !changes.is_empty() {
            let change = changes.remove(0);
            change(&mut entries);
        }
        for e in entries.iter() {
            if v.stopped() {
                return;
            }
            v.entry(e.clone());
        }
    }
}
