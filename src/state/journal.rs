//! The delivery journal's rows: one per (issue, recipient) in `sends`, of
//! integers only (see migration 6), and one per issue in `issue_runs`.
//! Reads and whole-run writes live here; the per-delivery writes go through
//! [`super::writer`].
//!
//! The journal API, for the send path and for other commands:
//! - [`resume`]: what a run must know of its issue: the address ids already
//!   sent (sorted, 8 bytes each) and the rows of recipients not yet sent;
//! - [`begin_run`] / [`finish_run`]: a run's start (how many recipients it
//!   plans) and a run that went through;
//! - [`finished_issues`], [`issues`], [`issue_status`], [`progress`]: what
//!   `status` and `send --due` read;
//! - [`sent_since`], [`nth_sent_since`]: messages accepted in a window, over
//!   every issue (the `max_per_hour` / `max_per_day` caps);
//! - [`set_clock`], [`clock`], [`stamp`]: the journal's clock.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where one recipient of one issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Known to the run, not attempted yet (or released after an interruption).
    Pending,
    /// Claimed by a connection; after a crash it may or may not have arrived.
    Sending,
    /// The server accepted the message.
    Sent,
    /// Refused for good, or retries ran out.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Failed,
    ];

    /// The number stored in `sends.state`: the common states (sending,
    /// sent) are 0 and 1, which SQLite stores in no bytes at all.
    pub fn code(self) -> i64 {
        match self {
            DeliveryState::Sending => 0,
            DeliveryState::Sent => 1,
            DeliveryState::Failed => 2,
            DeliveryState::Pending => 3,
        }
    }

    /// The state of a stored number; an unknown one is an error, never a guess.
    pub fn from_code(code: i64) -> anyhow::Result<Self> {
        match DeliveryState::ALL.into_iter().find(|st| st.code() == code) {
            Some(st) => Ok(st),
            None => bail!("the journal holds an unknown delivery state {code}"),
        }
    }

    /// The word shown by `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = anyhow::Error;
    /// An unknown word means a database this build does not understand:
    /// an error, never a guess.
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match DeliveryState::ALL.into_iter().find(|st| st.as_str() == s) {
            Some(st) => Ok(st),
            None => bail!("the journal holds an unknown delivery state {s:?}"),
        }
    }
}

/// Milliseconds added to the system clock for journal times: set from
/// `NEWSLETTER_DATE` so that a fixed clock also fixes the journal's times
/// (the volume caps count from them), while time still passes within a run.
static CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Journal times from now on start at `now` and run with the system clock.
pub fn set_clock(now: DateTime<Utc>) {
    let offset = now - Utc::now();
    CLOCK_OFFSET_MS.store(offset.num_milliseconds(), Ordering::Relaxed);
}

/// The journal's clock.
pub fn clock() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::milliseconds(CLOCK_OFFSET_MS.load(Ordering::Relaxed))
}

/// The clock for `issue_runs` and `runs`: RFC 3339 UTC with milliseconds.
pub(crate) fn now() -> String {
    stamp(clock())
}

/// How journal rows write a time as text; such strings sort by time.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The clock for `sends.at`: Unix seconds.
pub(crate) fn unix_now() -> i64 {
    clock().timestamp()
}

fn from_unix(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// The issue's number in `sends`, if it has run.
pub(crate) fn issue_num(conn: &Connection, issue_id: &str) -> anyhow::Result<Option<i64>> {
    let num = conn
        .query_row("SELECT num FROM issue_runs WHERE issue_id = ?1", [issue_id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(num)
}

/// What a run must know of its issue's journal.
#[derive(Debug, Default)]
pub struct Resume {
    /// Address ids ([`crate::address::id`]) the journal has as sent, sorted.
    pub sent: Vec<u64>,
    /// Rows of recipients taken before and not sent (failed, or left
    /// `sending` by a crash): address id → row, so a new attempt updates the
    /// row (its attempts and first failure) instead of starting another.
    pub open: HashMap<u64, u32>,
}

/// The sent ids and open rows of `issue_id` (empty for a new issue).
pub fn resume(conn: &Connection, issue_id: &str) -> anyhow::Result<Resume> {
    let mut out = Resume::default();
    let Some(num) = issue_num(conn, issue_id)? else {
        return Ok(out);
    };
    let mut stmt = conn.prepare("SELECT rcpt, seq, state FROM sends WHERE issue = ?1 AND state <> 3")?;
    let rows = stmt.query_map([num], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, u32>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        match row? {
            (id, _, 1) => out.sent.push(id),
            (id, seq, _) => {
                out.open.insert(id, seq);
            }
        }
    }
    out.sent.sort_unstable();
    Ok(out)
}

/// Where a run starts writing: the issue's number and the first free row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStart {
    pub issue: i64,
    pub next_seq: u32,
}

/// Records the start of a run. `recipients` is how many the issue is meant
/// to reach as planned now (already sent included); those without a row are
/// pending. None keeps the count (a retry of a few). Rows left `pending` by
/// an interrupted run are dropped: this run takes those recipients again.
pub fn begin_run(conn: &mut Connection, issue_id: &str, recipients: Option<u64>) -> anyhow::Result<RunStart> {
    let tx = conn.transaction()?;
    let t = now();
    tx.execute(
        "INSERT INTO issue_runs (issue_id, started_at, last_run_at) VALUES (?1, ?2, ?2)
         ON CONFLICT (issue_id) DO UPDATE SET last_run_at = ?2",
        params![issue_id, t],
    )?;
    if let Some(n) = recipients {
        tx.execute(
            "UPDATE issue_runs SET recipients = ?2 WHERE issue_id = ?1",
            params![issue_id, n as i64],
        )?;
    }
    let issue: i64 = tx.query_row("SELECT num FROM issue_runs WHERE issue_id = ?1", [issue_id], |r| {
        r.get(0)
    })?;
    tx.execute("DELETE FROM sends WHERE issue = ?1 AND state = 3", [issue])?;
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(seq), -1) + 1 FROM sends WHERE issue = ?1",
        [issue],
        |r| r.get(0),
    )?;
    tx.commit().context("journal: recording the run")?;
    let next_seq = u32::try_from(next).context("journal: the issue has more than 4 billion rows")?;
    Ok(RunStart { issue, next_seq })
}

/// Marks the issue finished (a run that ran through, not aborted).
pub fn finish_run(conn: &Connection, issue_id: &str) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE issue_runs SET finished_at = ?2 WHERE issue_id = ?1",
        params![issue_id, now()],
    )?;
    Ok(())
}

/// The ids of every finished issue.
pub fn finished_issues(conn: &Connection) -> anyhow::Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT issue_id FROM issue_runs WHERE finished_at IS NOT NULL")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The ids of every journalled issue, oldest run first.
pub fn issues(conn: &Connection) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT issue_id FROM issue_runs ORDER BY started_at, issue_id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The rows that can hold messages accepted at or after `t`: those of the
/// issues not finished, or finished since then.
const RECENT: &str = "issue IN (SELECT num FROM issue_runs WHERE finished_at IS NULL OR finished_at >= ?2)
                      AND state = 1 AND at >= ?1";

/// Messages the server accepted since `t`, over every issue: what the
/// `max_per_hour` / `max_per_day` caps count. It reads the rows of the
/// issues that can have any, about 0.1 s per million.
pub fn sent_since(conn: &Connection, t: DateTime<Utc>) -> anyhow::Result<u64> {
    let n: i64 = conn.query_row(
        &format!("SELECT count(*) FROM sends WHERE {RECENT}"),
        params![t.timestamp(), stamp(t)],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// The time of the `n`-th (from 0) message accepted since `t`, oldest first:
/// when it leaves a cap's window, one more message may go.
pub fn nth_sent_since(conn: &Connection, t: DateTime<Utc>, n: u64) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn
        .query_row(
            &format!("SELECT at FROM sends WHERE {RECENT} ORDER BY at LIMIT 1 OFFSET ?3"),
            params![t.timestamp(), stamp(t), n as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(at.map(from_unix))
}

/// One issue's delivery counts and failures (`newsletter status`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssueStatus {
    pub id: String,
    pub recipients: u64,
    pub sent: u64,
    pub failed: u64,
    pub pending: u64,
    pub sending: u64,
    pub started_at: String,
    pub last_run_at: String,
    pub finished_at: Option<String>,
    pub failures: Vec<FailureRow>,
}

/// A failed recipient and its last error.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailureRow {
    pub email: String,
    pub error: Option<String>,
    pub attempts: i64,
    pub at: String,
}

/// Rows per state of one issue (by its number).
fn counts(conn: &Connection, num: i64) -> anyhow::Result<HashMap<DeliveryState, u64>> {
    let mut count = HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT state, count(*) FROM sends WHERE issue = ?1 GROUP BY state")?;
    let rows = stmt.query_map([num], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        count.insert(DeliveryState::from_code(state)?, u64::try_from(n).unwrap_or(0));
    }
    Ok(count)
}

/// The status of a journalled issue.
pub fn issue_status(conn: &Connection, id: &str) -> anyhow::Result<IssueStatus> {
    let (started_at, last_run_at, finished_at, num, planned): (String, String, Option<String>, i64, i64) = conn
        .query_row(
            "SELECT started_at, last_run_at, finished_at, num, recipients FROM issue_runs WHERE issue_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let count = counts(conn, num)?;
    let mut stmt = conn.prepare(
        "SELECT e.email, e.error, s.attempts, s.at FROM send_errors e
         JOIN sends s ON s.issue = e.issue AND s.seq = e.seq
         WHERE e.issue = ?1 AND s.state = 2 ORDER BY e.email",
    )?;
    let failures = stmt
        .query_map([num], |r| {
            Ok(FailureRow {
                email: r.get(0)?,
                error: Some(r.get::<_, String>(1)?).filter(|e| !e.is_empty()),
                attempts: r.get(2)?,
                at: from_unix(r.get(3)?).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let n = |s: DeliveryState| count.get(&s).copied().unwrap_or(0);
    let rows: u64 = count.values().sum();
    // Recipients of the last plan that have no row yet are pending.
    let recipients = rows.max(u64::try_from(planned).unwrap_or(0));
    Ok(IssueStatus {
        id: id.to_string(),
        recipients,
        sent: n(DeliveryState::Sent),
        failed: n(DeliveryState::Failed),
        pending: n(DeliveryState::Pending) + (recipients - rows),
        sending: n(DeliveryState::Sending),
        started_at,
        last_run_at,
        finished_at,
        failures,
    })
}

/// What `send --due` needs to know of one journalled issue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub finished: bool,
    /// `mark-sent` was the last thing done to it: it is not sent again.
    pub marked: bool,
    /// Recipients planned and not yet sent or failed (a cap, a limit, an
    /// abort, a crash); counted for unfinished issues only.
    pub unsent: u64,
    /// Failures that were transient (4xx, network), with the number of
    /// attempts, when the last one failed and when the recipient first failed.
    pub transient: Vec<TransientFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransientFailure {
    pub email: String,
    pub attempts: u32,
    pub failed_at: DateTime<Utc>,
    pub first_planned: DateTime<Utc>,
}

/// [`Progress`] of every journalled issue.
pub fn progress(conn: &Connection) -> anyhow::Result<HashMap<String, Progress>> {
    let mut out = HashMap::new();
    let mut stmt = conn.prepare("SELECT issue_id, num, recipients, finished_at IS NOT NULL FROM issue_runs")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    let mut nums = HashMap::new();
    for row in rows {
        let (id, num, planned, finished) = row?;
        let mut p = Progress {
            finished,
            ..Progress::default()
        };
        if !finished {
            let c = counts(conn, num)?;
            let done = [DeliveryState::Sent, DeliveryState::Failed]
                .iter()
                .filter_map(|s| c.get(s))
                .sum::<u64>();
            p.unsent = u64::try_from(planned).unwrap_or(0).saturating_sub(done);
        }
        nums.insert(num, id.clone());
        out.insert(id, p);
    }
    let mut stmt = conn.prepare(
        "SELECT issue_id FROM runs WHERE outcome = 'marked' AND id IN (SELECT MAX(id) FROM runs GROUP BY issue_id)",
    )?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.entry(id?).or_default().marked = true;
    }
    let mut stmt = conn.prepare(
        "SELECT e.issue, e.email, s.attempts, s.at, e.first_at FROM send_errors e
         JOIN sends s ON s.issue = e.issue AND s.seq = e.seq
         WHERE e.transient = 1 AND s.state = 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    for row in rows {
        let (num, email, attempts, failed_at, first_at) = row?;
        let Some(id) = nums.get(&num) else { continue };
        out.entry(id.clone()).or_default().transient.push(TransientFailure {
            email,
            attempts: u32::try_from(attempts).unwrap_or(0),
            failed_at: from_unix(failed_at),
            first_planned: from_unix(first_at),
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
