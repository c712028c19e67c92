//! Who a run mails, read from a [`Source`] as a stream so that memory does
//! not grow with the list beyond 8 bytes and a bit per entry:
//!
//! 1. [`scan`] reads the list once: it validates every entry (any error
//!    stops the run before anything is sent) and keeps each entry's address
//!    id ([`crate::address::id`]); ids that occur twice mark the possible
//!    duplicates.
//! 2. [`decide`] reads it again and decides each entry with [`Rules`]
//!    (duplicate, status, suppression, shard, already sent, limit), keeping
//!    one bit per entry and the counts of what was skipped and why.
//!    Duplicates are confirmed by comparing the addresses themselves.
//! 3. [`stream`] reads it a third time while the run goes on and hands out
//!    the entries whose bit is set, numbered for the journal.
//!
//! The list may change while a run goes on: entries appended to a file (a
//! sign-up script) are left for the next run; any other change is noticed
//! (an entry whose address id differs from the first read) and stops the
//! stream with an error.

use super::plan::Shard;
use super::source::Source;
use crate::diag::Diagnostic;
use crate::subscribers::{self, Status, Subscriber, Visitor};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Entries of the list a run leaves out, by reason.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Not active in the list (unsubscribed, bounced, pending…) or on the suppression list.
    pub inactive_or_suppressed: usize,
    /// In another shard.
    pub other_shard: usize,
    /// The journal says they have this issue.
    pub already_sent: usize,
    /// Left for a later run by `--limit`.
    pub over_limit: usize,
    /// Left pending for the next window by `max_per_hour` / `max_per_day`.
    pub over_cap: usize,
    /// A `send --due` retry of a finished issue takes only the recipients
    /// whose transient failure is ready for another try.
    pub not_retried: usize,
    /// Later entries of an address listed earlier.
    pub duplicates: usize,
}

impl Skipped {
    /// Everyone left out for a reason other than the limit, a cap or duplication.
    pub fn total(&self) -> usize {
        self.inactive_or_suppressed + self.other_shard + self.already_sent + self.not_retried
    }
}

/// What the first read found.
#[derive(Debug)]
pub struct Scan {
    /// The address id of every valid entry, in list order.
    ids: Vec<u64>,
    /// How many valid entries each file had, in reading order.
    files: Vec<(Arc<Path>, usize)>,
    /// Ids that occur more than once: duplicates, or (rarely) two addresses
    /// that share an id.
    repeated: HashSet<u64>,
    /// Errors in the list; a run must not start when there are any.
    pub errors: usize,
    /// The names of the list's other columns (for the personal fields check).
    columns: Vec<String>,
    /// [`crate::address::id`]; tests swap in one that collides.
    id: fn(&str) -> u64,
}

impl Scan {
    /// The names of the columns the list's entries have besides email,
    /// name and status, sorted.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
}

/// Reads the list once; every problem goes to `report`.
pub fn scan(source: &dyn Source, report: &mut dyn FnMut(Diagnostic)) -> anyhow::Result<Scan> {
    scan_with(source, report, crate::address::id)
}

fn scan_with(source: &dyn Source, report: &mut dyn FnMut(Diagnostic), id: fn(&str) -> u64) -> anyhow::Result<Scan> {
    struct First<'r> {
        scan: Scan,
        columns: std::collections::BTreeSet<Arc<str>>,
        report: &'r mut dyn FnMut(Diagnostic),
    }
    impl Visitor for First<'_> {
        fn entry(&mut self, s: Subscriber) {
            self.scan.ids.push((self.scan.id)(&s.email));
            for (k, _) in &s.attributes {
                if !self.columns.contains(k) {
                    self.columns.insert(Arc::clone(k));
                }
            }
            match self.scan.files.last_mut() {
                Some((file, n)) if *file == s.file => *n += 1,
                _ => self.scan.files.push((s.file, 1)),
            }
        }
        fn problem(&mut self, d: Diagnostic) {
            self.scan.errors += usize::from(d.is_error());
            (self.report)(d);
        }
    }
    let mut first = First {
        scan: Scan {
            ids: Vec::new(),
            files: Vec::new(),
            repeated: HashSet::new(),
            errors: 0,
            columns: Vec::new(),
            id,
        },
        columns: std::collections::BTreeSet::new(),
        report,
    };
    source.read(&mut first)?;
    let mut scan = first.scan;
    scan.columns = first.columns.iter().map(|c| c.to_string()).collect();
    let mut sorted = scan.ids.clone();
    sorted.sort_unstable();
    scan.repeated = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    Ok(scan)
}

/// What the journal, the suppression list and the sign-ups say, and the
/// run's options.
pub struct Rules<'a> {
    /// Whether an address is on the suppression list, by id and address.
    pub suppressed: &'a dyn Fn(u64, &str) -> anyhow::Result<bool>,
    /// Whether an address is a confirmed sign-up, by id and address: that
    /// later, explicit consent makes an entry the files mark unsubscribed,
    /// pending or bounced active again (a blocklisted one stays as it is).
    pub confirmed: &'a dyn Fn(u64, &str) -> anyhow::Result<bool>,
    pub shard: Option<Shard>,
    /// Address ids the journal has as sent for this issue, sorted.
    pub sent: &'a [u64],
    /// A `send --due` retry: only these addresses (keys).
    pub only: Option<&'a HashSet<String>>,
    pub limit: Option<usize>,
}

/// The decided run: which entries get a message, and what was skipped.
#[derive(Debug)]
pub struct Plan {
    scan: Scan,
    /// One bit per entry: it gets a message.
    send: Vec<u64>,
    /// Recipients the run will send to.
    pub total: usize,
    pub skipped: Skipped,
}

impl Plan {
    /// Valid entries in the list (every status).
    pub fn entries(&self) -> usize {
        self.scan.ids.len()
    }
}

/// Why a read of the list after the first could not go on.
/// Reads the list a second time and decides every entry. Duplicate
/// warnings go to `report`.
pub fn decide(
    scan: Scan,
    source: &dyn Source,
    rules: &Rules<'_>,
    report: &mut dyn FnMut(Diagnostic),
) -> anyhow::Result<Plan> {
    let mut d = Decide {
        replay: Replay::new(&scan),
        rules,
        report,
        send: vec![0u64; scan.ids.len().div_ceil(64)],
        total: 0,
        skipped: Skipped::default(),
        firsts: HashMap::new(),
    };
    source.read(&mut d)?;
    let Decide {
        replay,
        send,
        total,
        skipped,
        ..
    } = d;
    replay.finish()?;
    Ok(Plan {
        scan,
        send,
        total,
        skipped,
    })
}

/// The first entry of an address among those whose id repeats.
struct First {
    key: String,
    file: Arc<Path>,
    line: u64,
    ordinal: usize,
    /// Skipped as already sent by the journal's id.
    already_sent: bool,
}

struct Decide<'a, 'r> {
    replay: Replay<'a>,
    rules: &'a Rules<'a>,
    report: &'r mut dyn FnMut(Diagnostic),
    send: Vec<u64>,
    total: usize,
    skipped: Skipped,
    /// For ids that repeat: the first entry of each address with that id.
    firsts: HashMap<u64, Vec<First>>,
}

impl Decide<'_, '_> {
    /// Skips a later entry of a listed address; true when `s` is one.
    /// Two addresses that share an id are both kept, and then the journal's
    /// "sent" (which knows only the id) cannot tell them apart: both are
    /// sent, a possible duplicate rather than a loss.
    fn duplicate(&mut self, s: &Subscriber, ordinal: usize, id: u64, journal_says_sent: &mut bool) -> bool {
        let key = s.key();
        let firsts = self.firsts.entry(id).or_default();
        if let Some(first) = firsts.iter().find(|f| f.key == key) {
            // A confirmed sign-up also in the files is expected, not a problem.
            if !s.is_signup() {
                (self.report)(subscribers::duplicate(s, &first.file, first.line));
            }
            self.skipped.duplicates += 1;
            return true;
        }
        if !firsts.is_empty() {
            *journal_says_sent = false;
            for f in firsts.iter_mut().filter(|f| f.already_sent) {
                f.already_sent = false;
                self.skipped.already_sent -= 1;
                self.total += 1;
                self.send[f.ordinal / 64] |= 1 << (f.ordinal % 64);
            }
        }
        firsts.push(First {
            key,
            file: Arc::clone(&s.file),
            line: s.line,
            ordinal,
            already_sent: false,
        });
        false
    }

    fn decide(&mut self, s: &Subscriber, ordinal: usize, id: u64) -> anyhow::Result<()> {
        let mut sent = self.rules.sent.binary_search(&id).is_ok();
        if self.replay.scan.repeated.contains(&id) && self.duplicate(s, ordinal, id, &mut sent) {
            return Ok(());
        }
        let r = self.rules;
        let active = match s.status {
            Status::Active => true,
            Status::Blocklisted => false,
            _ => (r.confirmed)(id, &s.email)?,
        };
        if !active || (r.suppressed)(id, &s.email)? {
            self.skipped.inactive_or_suppressed += 1;
        } else if r.shard.is_some_and(|sh| !sh.contains_id(id)) {
            self.skipped.other_shard += 1;
        } else if sent {
            self.skipped.already_sent += 1;
            if let Some(f) = self.firsts.get_mut(&id).and_then(|v| v.last_mut()) {
                f.already_sent = true;
            }
        } else if r.only.is_some_and(|only| !only.contains(&s.key())) {
            self.skipped.not_retried += 1;
        } else if r.limit.is_some_and(|l| self.total >= l) {
            self.skipped.over_limit += 1;
        } else {
            self.total += 1;
            self.send[ordinal / 64] |= 1 << (ordinal % 64);
        }
        Ok(())
    }
}

impl Visitor for Decide<'_, '_> {
    fn entry(&mut self, s: Subscriber) {
        let Some((ordinal, id)) = self.replay.place(&s) else {
            return;
        };
        if let Err(e) = self.decide(&s, ordinal, id) {
            self.replay.error = Some(e);
        }
    }
    fn problem(&mut self, d: Diagnostic) {
        self.replay.problem(d);
    }
    fn stopped(&self) -> bool {
        self.replay.error.is_some()
    }
}

mod replay;
mod stream;

use replay::Replay;

pub use stream::{stream, Numbering};

#[cfg(test)]
mod tests;
