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

use super::journal::now;
use anyhow::Context;
use rusqlite::{params, Connection};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

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

/// One thing that happened to a recipient.
#[derive(Debug)]
pub enum Event {
    Claimed {
        email: String,
    },
    Sent {
        email: String,
    },
    /// Refused for good (a 5xx), or transient failures outlasted the retries.
    Failed {
        email: String,
        error: String,
        /// A 4xx or network failure that outlasted the retries: `send --due` tries again later.
        transient: bool,
    },
    /// Back to pending (interrupted before delivery).
    Released {
        email: String,
    },
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
}

/// The handle workers use; cheap to clone.
#[derive(Clone)]
pub struct JournalWriter {
    tx: SyncSender<(u64, Event)>,
    next: Arc<Mutex<u64>>,
    committed: Arc<Committed>,
}

impl JournalWriter {
    /// Starts the writer thread on its own connection.
    pub fn start(mut conn: Connection, issue_id: String) -> anyhow::Result<(JournalWriter, WriterThread)> {
        let (tx, rx) = sync_channel(256);
        let committed = Arc::new(Committed::default());
        let c2 = committed.clone();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer_loop(&mut conn, &issue_id, rx, &c2))
            .context("cannot start the journal writer thread")?;
        let writer = JournalWriter {
            tx,
            next: Arc::new(Mutex::new(0)),
            committed,
        };
        Ok((writer, handle))
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
        let _ = self.tx.send((seq, event));
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

fn writer_loop(
    conn: &mut Connection,
    issue_id: &str,
    rx: Receiver<(u64, Event)>,
    committed: &Committed,
) -> anyhow::Result<()> {
    let result = (|| -> anyhow::Result<()> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The file must stay the one opened, and writable (see `guard`).
        let guard = super::guard::DbGuard::new(conn)?;
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < 512 {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            let last = batch.last().map_or(0, |(s, _)| *s);
            apply(conn, issue_id, batch).context("journal: writing delivery states")?;
            if let Some(g) = &guard {
                g.check(conn)?;
            }
            *committed.seq.lock().expect("journal committed") = last;
            committed.cond.notify_all();
        }
        Ok(())
    })();
    // Never leave a worker waiting on a writer that is gone.
    *committed.seq.lock().expect("journal committed") = u64::MAX;
    committed.cond.notify_all();
    result
}

fn apply(conn: &mut Connection, issue_id: &str, batch: Vec<(u64, Event)>) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    let t = now();
    {
        let mut claim = tx.prepare_cached(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?3
             WHERE issue_id = ?1 AND email = ?2",
        )?;
        let mut sent = tx.prepare_cached(
            "UPDATE deliveries SET state = 'sent', last_error = NULL, updated_at = ?3, sent_at = ?3
             WHERE issue_id = ?1 AND email = ?2",
        )?;
        let mut failed = tx.prepare_cached(
            "UPDATE deliveries SET state = 'failed', last_error = ?4, updated_at = ?3, transient = ?5
             WHERE issue_id = ?1 AND email = ?2",
        )?;
        let mut released = tx.prepare_cached(
            "UPDATE deliveries SET state = 'pending', updated_at = ?3
             WHERE issue_id = ?1 AND email = ?2 AND state = 'sending'",
        )?;
        for (_, event) in batch {
            match event {
                Event::Claimed { email } => claim.execute(params![issue_id, email, t])?,
                Event::Sent { email } => sent.execute(params![issue_id, email, t])?,
                Event::Failed {
                    email,
                    error,
                    transient,
                } => failed.execute(params![issue_id, email, t, error, transient])?,
                Event::Released { email } => released.execute(params![issue_id, email, t])?,
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
