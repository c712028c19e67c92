//! The journal's writer: workers never touch SQLite themselves. They send
//! events to one writer thread that commits them in groups (WAL,
//! `synchronous = FULL`, so a commit survives power loss). Each event gets a
//! sequence number, and a worker waits until its previous `sent` mark is
//! committed before it hands the next message to the server. So after a
//! crash at most one accepted-but-unrecorded message per connection exists:
//! the duplicate window is the concurrency.
//!
//! The dispatcher sees the journal through the [`Journal`] trait, so a run
//! without one (dry run, test copy, benchmarks) uses [`NoJournal`].

use super::journal::{issue_num, unix_now, DeliveryState};
use anyhow::Context;
use rusqlite::{params, Connection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the dispatcher needs from a journal.
pub trait Journal: Sync {
    /// Queues an event; returns its sequence number.
    fn record(&self, event: Event) -> u64;
    /// Blocks until every event up to `seq` is committed (or the journal stopped).
    fn wait_committed(&self, seq: u64);
    /// True once the journal can no longer record: sending on would lose the
    /// record of who has the issue.
    fn stopped(&self) -> bool;
}

/// No journal: nothing is recorded and nothing waits.
pub struct NoJournal;

impl Journal for NoJournal {
    fn record(&self, _: Event) -> u64 {
        0
    }
    fn wait_committed(&self, _: u64) {}
    fn stopped(&self) -> bool {
        false
    }
}

/// Where one delivery is recorded: its row in the issue's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Slot {
    /// The row's place in the issue: the order in which the run took the
    /// recipient (from [`super::journal::begin_run`]'s `next_seq` on), so
    /// rows written one after another share pages.
    pub seq: u32,
    /// The address id ([`crate::address::id`]).
    pub rcpt: u64,
}

/// One thing that happened to a recipient.
#[derive(Debug)]
pub enum Event {
    /// Its message is about to go out.
    Claimed { slot: Slot },
    /// The server accepted it.
    Sent { slot: Slot },
    /// Refused for good (a 5xx), or transient failures outlasted the
    /// retries, or the message could not be built. `email` is the address
    /// key, kept with the error for `status`.
    Failed {
        slot: Slot,
        email: String,
        error: String,
        /// A 4xx or network failure that outlasted the retries: `send --due` tries again later.
        transient: bool,
    },
    /// Back to pending (interrupted before delivery).
    Released { slot: Slot },
    /// The server refused the recipient or the message for good (5xx),
    /// read with the bounce rules: recorded as a bounce of the issue; the
    /// `[bounces]` thresholds decide about suppression after the run.
    Bounced {
        email: String,
        class: super::bounces::Class,
        reason: String,
        status: Option<String>,
        diagnostic: String,
    },
}

/// Sequence numbers of committed events, shared with the workers.
#[derive(Default)]
struct Committed {
    seq: Mutex<u64>,
    cond: Condvar,
    /// Connections that wait on their `sent` marks (see [`JournalWriter::gather`]).
    senders: AtomicUsize,
}

/// An event as queued: its sequence number and when it was recorded.
type Queued = (u64, Instant, Event);

/// The handle workers use; cheap to clone.
#[derive(Clone)]
pub struct JournalWriter {
    tx: SyncSender<Queued>,
    next: Arc<Mutex<u64>>,
    committed: Arc<Committed>,
}

impl JournalWriter {
    /// Starts the writer thread on its own connection, for an issue that
    /// [`super::journal::begin_run`] has recorded.
    pub fn start(mut conn: Connection, issue_id: String) -> anyhow::Result<(JournalWriter, WriterThread)> {
        let issue = issue_num(&conn, &issue_id)?
            .with_context(|| format!("journal: the issue {issue_id} has no run recorded"))?;
        let (tx, rx) = sync_channel(256);
        let committed = Arc::new(Committed::default());
        let c2 = committed.clone();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer_loop(&mut conn, (issue, &issue_id), rx, &c2))
            .context("cannot start the journal writer thread")?;
        let writer = JournalWriter {
            tx,
            next: Arc::new(Mutex::new(0)),
            committed,
        };
        Ok((writer, handle))
    }

    /// Tells the writer how many connections wait on their `sent` marks.
    /// Each commit then waits, for half as long as a commit takes, until
    /// that many marks are in it: with one fsync per commit and a slow
    /// disk, commits that carry every connection's mark at once are both
    /// faster overall and write less. With 1 (the default) nothing waits.
    pub fn gather(&self, senders: usize) {
        self.committed.senders.store(senders.max(1), Ordering::Relaxed);
    }
}

/// The writer thread; joining it gives the first error it met, if any.
pub type WriterThread = JoinHandle<anyhow::Result<()>>;

impl Journal for JournalWriter {
    fn record(&self, event: Event) -> u64 {
        // The lock keeps sequence numbers in channel order.
        let mut next = self.next.lock().expect("journal seq");
        *next += 1;
        let seq = *next;
        // A closed channel means the writer failed; its error surfaces at join.
        let _ = self.tx.send((seq, Instant::now(), event));
        seq
    }

    fn stopped(&self) -> bool {
        *self.committed.seq.lock().expect("journal committed") == u64::MAX
    }

    fn wait_committed(&self, seq: u64) {
        let mut done = self.committed.seq.lock().expect("journal committed");
        while *done < seq {
            done = self.committed.cond.wait(done).expect("journal committed");
            if *done == u64::MAX {
                break;
            }
        }
    }
}

/// The issue a writer records: its number in `sends` and its id.
type IssueRef<'a> = (i64, &'a str);

fn writer_loop(
    conn: &mut Connection,
    issue: IssueRef<'_>,
    rx: Receiver<Queued>,
    committed: &Committed,
) -> anyhow::Result<()> {
    let result = (|| -> anyhow::Result<()> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The file must stay the one opened, and writable (see `guard`).
        let guard = super::guard::DbGuard::new(conn)?;
        let (mut commits, mut events) = (0u64, 0u64);
        let mut last_commit = Duration::ZERO;
        loop {
            let senders = committed.senders.load(Ordering::Relaxed);
            let Some(batch) = next_batch(&rx, senders, last_commit / 2) else {
                break;
            };
            let last = batch.last().map_or(0, |(s, _, _)| *s);
            commits += 1;
            events += batch.len() as u64;
            let start = Instant::now();
            apply(conn, issue, batch).context("journal: writing delivery states")?;
            last_commit = start.elapsed().min(Duration::from_millis(20));
            if let Some(g) = &guard {
                g.check(conn)?;
            }
            *committed.seq.lock().expect("journal committed") = last;
            committed.cond.notify_all();
        }
        crate::output::debug(&format!("journal: {events} events in {commits} commits"));
        Ok(())
    })();
    // Never leave a worker waiting on a writer that is gone.
    *committed.seq.lock().expect("journal committed") = u64::MAX;
    committed.cond.notify_all();
    result
}

/// How long claims alone wait for company before they are committed.
const CLAIM_DELAY: Duration = Duration::from_millis(100);

/// The most events in one commit.
const MAX_BATCH: usize = 512;

/// The events of the next commit, in order; None when the channel is
/// closed and empty.
///
/// - Nobody waits for a claim to be durable (a claim lost in a crash leaves
///   the recipient pending, and a re-run sends it either way), so claims
///   alone wait up to [`CLAIM_DELAY`] for an event that matters: one commit
///   per message on a single connection instead of two.
/// - A batch with fewer `sent` marks than there are `senders` waits until
///   `window` after its first mark for the others.
fn next_batch(rx: &Receiver<Queued>, senders: usize, window: Duration) -> Option<Vec<Queued>> {
    let first = rx.recv().ok()?;
    let claims_until = first.1 + CLAIM_DELAY;
    let mut batch = vec![first];
    loop {
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut sents = batch.iter().filter(|(_, _, e)| matches!(e, Event::Sent { .. }));
        let first_sent = sents.next().map(|(_, at, _)| *at);
        let others = batch
            .iter()
            .any(|(_, _, e)| !matches!(e, Event::Claimed { .. } | Event::Sent { .. }));
        let until = match first_sent {
            _ if batch.len() >= MAX_BATCH => return Some(batch),
            Some(at) if 1 + sents.count() < senders => at + window,
            Some(_) => return Some(batch),
            None if others => return Some(batch),
            None => claims_until,
        };
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(e) => batch.push(e),
            Err(_) => return Some(batch),
        }
    }
}

fn apply(conn: &mut Connection, (issue, issue_id): IssueRef<'_>, batch: Vec<Queued>) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    let t = unix_now();
    {
        // Upserts: a failure can come before any claim (a message that
        // could not be built).
        let mut claim = tx.prepare_cached(
            "INSERT INTO sends (issue, seq, rcpt, state, attempts, at) VALUES (?1, ?2, ?3, 0, 1, ?4)
             ON CONFLICT (issue, seq) DO UPDATE SET state = 0, attempts = attempts + 1, at = ?4",
        )?;
        let mut sent = tx.prepare_cached("UPDATE sends SET state = 1, at = ?3 WHERE issue = ?1 AND seq = ?2")?;
        let mut failed = tx.prepare_cached(
            "INSERT INTO sends (issue, seq, rcpt, state, attempts, at) VALUES (?1, ?2, ?3, 2, 0, ?4)
             ON CONFLICT (issue, seq) DO UPDATE SET state = 2, at = ?4",
        )?;
        // The first failure's time stays: `send --due` stops retrying after a while.
        let mut error = tx.prepare_cached(
            "INSERT INTO send_errors (issue, seq, email, error, transient, first_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (issue, seq) DO UPDATE SET email = ?3, error = ?4, transient = ?5",
        )?;
        let mut released =
            tx.prepare_cached("UPDATE sends SET state = ?4, at = ?3 WHERE issue = ?1 AND seq = ?2 AND state = ?5")?;
        let (pending, sending) = (DeliveryState::Pending.code(), DeliveryState::Sending.code());
        for (_, _, event) in batch {
            match event {
                Event::Claimed { slot } => claim.execute(params![issue, slot.seq, slot.rcpt as i64, t])?,
                Event::Sent { slot } => sent.execute(params![issue, slot.seq, t])?,
                Event::Failed {
                    slot,
                    email,
                    error: e,
                    transient,
                } => {
                    failed.execute(params![issue, slot.seq, slot.rcpt as i64, t])?;
                    error.execute(params![issue, slot.seq, email, e, transient, t])?
                }
                Event::Released { slot } => released.execute(params![issue, slot.seq, t, pending, sending])?,
                Event::Bounced {
                    email,
                    class,
                    reason,
                    status,
                    diagnostic,
                } => {
                    super::bounces::record_refusal(&tx, issue_id, &email, class, reason, status, diagnostic)?;
                    0
                }
            };
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
