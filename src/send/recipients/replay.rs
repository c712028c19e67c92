//! A later read of the subscriber list, followed against the first one
//! ([`super::Scan`]): the second and third reads must see the same entries
//! in the same order, or the run stops (see the module above).

use super::Scan;
use crate::diag::Diagnostic;
use crate::subscribers::Subscriber;
use std::path::Path;

fn changed(file: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: the subscriber list changed during the run (only appending is safe); re-run to continue",
        file.display()
    )
}

/// Follows a later read of the list against the first: counts entries per
/// file (ignoring appended ones) and checks each entry's address id.
pub(super) struct Replay<'s> {
    pub(super) scan: &'s Scan,
    file: usize,
    in_file: usize,
    /// Entries passed so far.
    ordinal: usize,
    pub(super) error: Option<anyhow::Error>,
}

impl<'s> Replay<'s> {
    pub(super) fn new(scan: &'s Scan) -> Self {
        Replay {
            scan,
            file: 0,
            in_file: 0,
            ordinal: 0,
            error: None,
        }
    }

    /// The entry's ordinal and id, or None when it is past its file's end
    /// at the first read (or the list changed, noted in `error`).
    pub(super) fn place(&mut self, s: &Subscriber) -> Option<(usize, u64)> {
        if self.error.is_some() {
            return None;
        }
        while self.scan.files.get(self.file).is_some_and(|(f, _)| *f != s.file) {
            if self.in_file < self.scan.files[self.file].1 {
                self.error = Some(changed(&self.scan.files[self.file].0));
                return None;
            }
            self.file += 1;
            self.in_file = 0;
        }
        let (_, count) = self.scan.files.get(self.file)?;
        if self.in_file >= *count {
            return None; // appended since the first read
        }
        self.in_file += 1;
        let id = (self.scan.id)(&s.email);
        let ordinal = self.ordinal;
        self.ordinal += 1;
        if self.scan.ids[ordinal] != id {
            self.error = Some(changed(&s.file));
            return None;
        }
        Some((ordinal, id))
    }

    pub(super) fn problem(&mut self, d: Diagnostic) {
        if d.is_error() && self.error.is_none() {
            self.error = Some(anyhow::anyhow!("{d}"));
        }
    }

    /// The error, if the read did not reproduce the first one.
    pub(super) fn finish(self) -> anyhow::Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.ordinal != self.scan.ids.len() {
            // The first file that came up short.
            let done = self.scan.files.get(self.file).is_some_and(|(_, n)| self.in_file >= *n);
            let short = self.scan.files.get(self.file + usize::from(done));
            return Err(changed(short.map_or(Path::new("?"), |(f, _)| f)));
        }
        Ok(())
    }
}
