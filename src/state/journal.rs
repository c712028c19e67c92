//! The delivery journal's rows: one per (issue, recipient) with its state,
//! and one per issue for its runs. Reads and whole-run writes live here; the
//! per-delivery writes go through [`super::writer`].

use anyhow::{bail, Context};
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

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

/// The clock for journal rows: RFC 3339 UTC with milliseconds.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
