//! The third read of the list: the planned recipients handed to the
//! dispatcher while the run goes on, numbered for the journal.

use super::replay::Replay;
use super::Plan;
use crate::diag::Diagnostic;
use crate::send::dispatch::Job;
use crate::send::source::Source;
use crate::state::writer::Slot;
use crate::subscribers::{Subscriber, Visitor};
use std::collections::HashMap;

/// Where the stream numbers its recipients in the journal: rows a recipient
/// already has (failed, or left by a crash: address id → row) are reused,
/// others are numbered from `next`.
#[derive(Debug, Default)]
pub struct Numbering {
    pub next: u32,
    pub open: HashMap<u64, u32>,
}

impl Numbering {
    fn slot(&mut self, id: u64) -> Slot {
        // Removed once used: a second address with the same id gets its own row.
        let seq = self.open.remove(&id).unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        });
        Slot { seq, rcpt: id }
    }
}

/// Reads the list a third time and hands the first `count` recipients of
/// the plan to `emit` (a cap may allow fewer than planned), numbered by
/// `numbering`, until `emit` returns false. An error when the list changed
/// in a way that makes the plan wrong; the recipients handed out until then
/// were right.
pub fn stream(
    plan: &Plan,
    source: &dyn Source,
    numbering: Numbering,
    count: usize,
    emit: &mut dyn FnMut(Job) -> bool,
) -> anyhow::Result<()> {
    struct Third<'a, 'e> {
        replay: Replay<'a>,
        send: &'a [u64],
        numbering: Numbering,
        left: usize,
        emit: &'e mut dyn FnMut(Job) -> bool,
        stop: bool,
    }
    impl Visitor for Third<'_, '_> {
        fn entry(&mut self, s: Subscriber) {
            let Some((ordinal, id)) = self.replay.place(&s) else {
                return;
            };
            if self.send[ordinal / 64] & (1 << (ordinal % 64)) == 0 {
                return;
            }
            let job = Job {
                slot: self.numbering.slot(id),
                email: s.email,
                name: s.name,
                attributes: s.attributes,
            };
            self.left -= 1;
            self.stop = !(self.emit)(job) || self.left == 0;
        }
        fn problem(&mut self, d: Diagnostic) {
            self.replay.problem(d);
        }
        fn stopped(&self) -> bool {
            self.stop || self.replay.error.is_some()
        }
    }
    if count == 0 {
        return Ok(());
    }
    let mut third = Third {
        replay: Replay::new(&plan.scan),
        send: &plan.send,
        numbering,
        left: count,
        emit,
        stop: false,
    };
    source.read(&mut third)?;
    if third.stop {
        return Ok(());
    }
    third.replay.finish()
}
