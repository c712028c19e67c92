//! The delivery journal's rows: one per (issue, recipient) with its state,
//! and one per issue for its runs. Reads and whole-run writes live here; the
//! per-delivery writes go through [`super::writer`].

use anyhow::{bail, Context};
use rusqlite::{params, Connection};
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

    /// The word stored in the database (and shown by `status`).
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
pub fn set_clock(now: chrono::DateTime<chrono::Utc>) {
    let offset = now - chrono::Utc::now();
    CLOCK_OFFSET_MS.store(offset.num_milliseconds(), Ordering::Relaxed);
}

/// The journal's clock.
pub fn clock() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::milliseconds(CLOCK_OFFSET_MS.load(Ordering::Relaxed))
}

/// The clock for journal rows: RFC 3339 UTC with milliseconds.
pub(crate) fn now() -> String {
    stamp(clock())
}

/// How journal rows write a time; such strings sort by time.
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// States of the issue's journalled recipients, keyed by address key.
pub fn states(conn: &Connection, issue_id: &str) -> anyhow::Result<HashMap<String, DeliveryState>> {
    let mut stmt = conn.prepare("SELECT email, state FROM deliveries WHERE issue_id = ?1")?;
    let rows = stmt.query_map([issue_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (email, state) = row?;
        out.insert(email, state.parse()?);
    }
    Ok(out)
}

/// Records the start of a run and adds `pending` rows for recipients the
/// journal does not know yet, as (address key, Message-ID), in one transaction.
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

/// The status of a journalled issue.
pub fn issue_status(conn: &Connection, id: &str) -> anyhow::Result<IssueStatus> {
    let (started_at, last_run_at, finished_at): (String, String, Option<String>) = conn.query_row(
        "SELECT started_at, last_run_at, finished_at FROM issue_runs WHERE issue_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut count: HashMap<DeliveryState, u64> = HashMap::new();
    let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM deliveries WHERE issue_id = ?1 GROUP BY state")?;
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        count.insert(state.parse()?, u64::try_from(n).unwrap_or(0));
    }
    let mut stmt = conn.prepare(
        "SELECT email, last_error, attempts, updated_at FROM deliveries
         WHERE issue_id = ?1 AND state = 'failed' ORDER BY email",
    )?;
    let failures = stmt
        .query_map([id], |r| {
            Ok(FailureRow {
                email: r.get(0)?,
                error: r.get(1)?,
                attempts: r.get(2)?,
                at: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let n = |s: DeliveryState| count.get(&s).copied().unwrap_or(0);
    Ok(IssueStatus {
        id: id.to_string(),
        recipients: count.values().sum(),
        sent: n(DeliveryState::Sent),
        failed: n(DeliveryState::Failed),
        pending: n(DeliveryState::Pending),
        sending: n(DeliveryState::Sending),
        started_at,
        last_run_at,
        finished_at,
        failures,
    })
}

/// Messages the server accepted since `t`, over every issue: what the
/// `max_per_hour` / `max_per_day` caps count.
pub fn sent_since(conn: &Connection, t: chrono::DateTime<chrono::Utc>) -> anyhow::Result<u64> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM deliveries WHERE sent_at >= ?1", [stamp(t)], |r| {
        r.get(0)
    })?;
    Ok(n.max(0) as u64)
}

/// The time of the `n`-th (from 0) message accepted since `t`, oldest first:
/// when it leaves a cap's window, one more message may go.
pub fn nth_sent_since(
    conn: &Connection,
    t: chrono::DateTime<chrono::Utc>,
    n: u64,
) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    let mut stmt =
        conn.prepare("SELECT sent_at FROM deliveries WHERE sent_at >= ?1 ORDER BY sent_at LIMIT 1 OFFSET ?2")?;
    let mut rows = stmt.query(params![stamp(t), n as i64])?;
    let Some(row) = rows.next()? else { return Ok(None) };
    let text: String = row.get(0)?;
    let at = chrono::DateTime::parse_from_rfc3339(&text).with_context(|| format!("journal: bad time {text:?}"))?;
    Ok(Some(at.with_timezone(&chrono::Utc)))
}

/// What `send --due` needs to know of one journalled issue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub finished: bool,
    /// `mark-sent` was the last thing done to it: it is not sent again.
    pub marked: bool,
    /// Recipients still `pending` or `sending` (a cap, a limit, an abort, a crash).
    pub unsent: u64,
    /// Failures that were transient (4xx, network), with the number of
    /// attempts, when the last one failed and when the recipient was added.
    pub transient: Vec<TransientFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransientFailure {
    pub email: String,
    pub attempts: u32,
    pub failed_at: chrono::DateTime<chrono::Utc>,
    pub first_planned: chrono::DateTime<chrono::Utc>,
}

/// [`Progress`] of every journalled issue.
pub fn progress(conn: &Connection) -> anyhow::Result<HashMap<String, Progress>> {
    let finished = finished_issues(conn)?;
    let mut out: HashMap<String, Progress> = issues(conn)?
        .into_iter()
        .map(|id| {
            let p = Progress {
                finished: finished.contains(&id),
                ..Progress::default()
            };
            (id, p)
        })
        .collect();
    let mut stmt = conn.prepare(
        "SELECT issue_id FROM runs WHERE outcome = 'marked' AND id IN (SELECT MAX(id) FROM runs GROUP BY issue_id)",
    )?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.entry(id?).or_default().marked = true;
    }
    let mut stmt = conn
        .prepare("SELECT issue_id, COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending') GROUP BY issue_id")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (id, n) = row?;
        out.entry(id).or_default().unsent = n.max(0) as u64;
    }
    let mut stmt = conn.prepare(
        "SELECT issue_id, email, attempts, updated_at, created_at FROM deliveries
         WHERE state = 'failed' AND transient = 1",
    )?;
    let time = |s: String| {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .with_context(|| format!("journal: bad time {s:?}"))
    };
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    for row in rows {
        let (id, email, attempts, updated, created) = row?;
        out.entry(id).or_default().transient.push(TransientFailure {
            email,
            attempts: u32::try_from(attempts).unwrap_or(0),
            failed_at: time(updated)?,
            first_planned: time(created)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_is_an_error() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>().unwrap(), s);
        }
        let e = "delivered".parse::<DeliveryState>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the journal holds an unknown delivery state \"delivered\""
        );
    }

    #[test]
    fn run_rows_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::state::open(dir.path()).unwrap();
        let new = [
            ("a@x.org".to_string(), "<1@x>".to_string()),
            ("b@x.org".into(), "<2@x>".into()),
        ];
        begin_run(&mut conn, "w1", &new).unwrap();
        conn.execute("UPDATE deliveries SET state = 'sent' WHERE email = 'a@x.org'", [])
            .unwrap();
        let st = states(&conn, "w1").unwrap();
        assert_eq!(st["a@x.org"], DeliveryState::Sent);
        assert_eq!(st["b@x.org"], DeliveryState::Pending);
        assert!(finished_issues(&conn).unwrap().is_empty());
        finish_run(&conn, "w1").unwrap();
        assert_eq!(finished_issues(&conn).unwrap(), HashSet::from(["w1".to_string()]));
        let s = issue_status(&conn, "w1").unwrap();
        assert_eq!((s.recipients, s.sent, s.pending, s.failed), (2, 1, 1, 0));
        assert!(s.finished_at.is_some());
        assert_eq!(issues(&conn).unwrap(), vec!["w1".to_string()]);
        conn.execute("UPDATE deliveries SET state = 'lost' WHERE email = 'b@x.org'", [])
            .unwrap_err();
    }
}
