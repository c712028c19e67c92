//! The delivery journal: one row per (issue, recipient) in the state database.
//!
//! Workers never touch SQLite themselves: they send events to one writer
//! thread that commits them in groups (WAL, `synchronous = FULL`, so a commit
//! survives power loss). Each `sent` mark gets a sequence number, and a worker
//! waits until its previous mark is committed before it hands the next message
//! to the server. So after a crash at most one accepted-but-unrecorded message
//! per connection exists: the duplicate window is the concurrency.

use anyhow::Context;
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// The journal's schema, appended to the state database's migrations.
pub const MIGRATION: &str = "
CREATE TABLE deliveries (
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
);
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// States of the issue's journalled recipients, keyed by lower-cased address.
pub fn states(conn: &Connection, issue_id: &str) -> anyhow::Result<HashMap<String, State>> {
    let mut stmt = conn.prepare("SELECT email, state FROM deliveries WHERE issue_id = ?1")?;
    let rows = stmt.query_map([issue_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (email, state) = row?;
        let state = match state.as_str() {
            "pending" => State::Pending,
            "sending" => State::Sending,
            "sent" => State::Sent,
            _ => State::Failed,
        };
        out.insert(email, state);
    }
    Ok(out)
}

/// Records the start of a run and adds `pending` rows for recipients the
/// journal does not know yet (one transaction).
pub fn begin_run(conn: &mut Connection, issue_id: &str, new: &[(String, String)]) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    let t = now();
    tx.execute(
        "INSERT INTO issue_runs (issue_id, started_at, last_run_at) VALUES (?1, ?2, ?2)
         ON CONFLICT (issue_id) DO UPDATE SET last_run_at = ?2",
        params![issue_id, t],
    )?;
    {
        let mut ins = tx.prepare(
            "INSERT OR IGNORE INTO deliveries (issue_id, email, state, message_id, created_at, updated_at)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?4)",
        )?;
        for (email, message_id) in new {
            ins.execute(params![issue_id, email, message_id, t])?;
        }
    }
    tx.commit().context("journal: recording the run")?;
    Ok(())
}

/// Marks the issue finished (a run that ran through, not aborted).
pub fn finish_run(conn: &Connection, issue_id: &str) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE issue_runs SET finished_at = ?2 WHERE issue_id = ?1",
        params![issue_id, now()],
    )?;
    Ok(())
}

/// When the issue was finished, if it was.
pub fn finished_at(conn: &Connection, issue_id: &str) -> anyhow::Result<Option<String>> {
    let mut stmt = conn.prepare("SELECT finished_at FROM issue_runs WHERE issue_id = ?1")?;
    let mut rows = stmt.query([issue_id])?;
    Ok(match rows.next()? {
        Some(r) => r.get(0)?,
        None => None,
    })
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
    /// `permanent`: a 5xx; otherwise retries ran out.
    Failed {
        email: String,
        error: String,
    },
    /// Back to pending (interrupted before delivery).
    Released {
        email: String,
    },
    /// The server said the mailbox does not exist: suppress it.
    Bounced {
        email: String,
        reason: String,
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
    pub fn start(mut conn: Connection, issue_id: String) -> (JournalWriter, JoinHandle<anyhow::Result<()>>) {
        let (tx, rx) = sync_channel(256);
        let committed = Arc::new(Committed::default());
        let c2 = committed.clone();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer_loop(&mut conn, &issue_id, rx, &c2))
            .expect("spawn journal thread");
        (
            JournalWriter {
                tx,
                next: Arc::new(Mutex::new(0)),
                committed,
            },
            handle,
        )
    }

    /// Queues an event and returns its sequence number.
    pub fn record(&self, event: Event) -> u64 {
        // The lock keeps sequence numbers in channel order.
        let mut next = self.next.lock().expect("journal seq");
        *next += 1;
        let seq = *next;
        // A closed channel means the writer failed; its error surfaces at join.
        let _ = self.tx.send((seq, event));
        seq
    }

    /// True once the writer thread has stopped (it failed, or all handles were dropped).
    pub fn stopped(&self) -> bool {
        *self.committed.seq.lock().expect("journal committed") == u64::MAX
    }

    /// Blocks until every event up to `seq` is committed (or the writer stopped).
    pub fn wait_committed(&self, seq: u64) {
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
            "UPDATE deliveries SET state = 'failed', last_error = ?4, updated_at = ?3
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
                Event::Failed { email, error } => failed.execute(params![issue_id, email, t, error])?,
                Event::Released { email } => released.execute(params![issue_id, email, t])?,
                Event::Bounced { email, reason } => {
                    crate::state::suppression::suppress(
                        &tx,
                        &email,
                        crate::state::suppression::Reason::Bounced,
                        &reason,
                    )?;
                    0
                }
            };
        }
    }
    tx.commit()?;
    Ok(())
}
