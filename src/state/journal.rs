//! The delivery journal's rows: one per (issue, recipient) in `sends`, of
//! integers only (see migration 3), and one per issue in `issue_runs`.
//! Reads and whole-run writes live here; the per-delivery writes go through
//! [`super::writer`].
//!
//! The journal API, for the send path and for other commands:
//! - [`sent_ids`]: the address ids an issue went to, sorted (resume);
//! - [`begin_run`] / [`finish_run`]: a run's start (its planned size) and end;
//! - [`finished_issues`], [`issues`], [`issue_status`]: what `--due` and
//!   `status` read;
//! - [`sent_since`]: messages accepted since a time, over every issue (caps).

use anyhow::{bail, Context};
use rusqlite::{params, Connection, OptionalExtension};
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

/// The clock for `issue_runs`: RFC 3339 UTC with milliseconds.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The clock for `sends.at`: Unix seconds.
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
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

/// The address ids ([`crate::address::id`]) the journal has as `sent` for
/// this issue, sorted: 8 bytes per recipient, for skipping them on a resume.
pub fn sent_ids(conn: &Connection, issue_id: &str) -> anyhow::Result<Vec<u64>> {
    let Some(num) = issue_num(conn, issue_id)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare("SELECT rcpt FROM sends WHERE issue = ?1 AND state = 1")?;
    let mut ids = stmt
        .query_map([num], |r| r.get::<_, i64>(0).map(|i| i as u64))?
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Where a run starts writing: the issue's number and the first free `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStart {
    pub issue: i64,
    pub next_seq: u32,
}

/// Records the start of a run that will cover `recipients` in all (already
/// sent included). Rows of an earlier run that are not `sent` (failed,
/// interrupted, left by a crash) are dropped: this run takes those
/// recipients again and writes their rows afresh, in its own order.
pub fn begin_run(conn: &mut Connection, issue_id: &str, recipients: u64) -> anyhow::Result<RunStart> {
    let tx = conn.transaction()?;
    let t = now();
    tx.execute(
        "INSERT INTO issue_runs (issue_id, started_at, last_run_at, num, recipients)
         VALUES (?1, ?2, ?2, (SELECT coalesce(max(num), 0) + 1 FROM issue_runs), ?3)
         ON CONFLICT (issue_id) DO UPDATE SET last_run_at = ?2, recipients = ?3",
        params![issue_id, t, recipients as i64],
    )?;
    let issue: i64 = tx.query_row("SELECT num FROM issue_runs WHERE issue_id = ?1", [issue_id], |r| {
        r.get(0)
    })?;
    tx.execute("DELETE FROM sends WHERE issue = ?1 AND state <> 1", [issue])?;
    tx.execute("DELETE FROM send_errors WHERE issue = ?1", [issue])?;
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

/// How many messages servers accepted at or after `since` (Unix seconds),
/// over every issue: what sending caps count. It reads the rows of the
/// issues that can have any (unfinished, or finished since then), about
/// 0.1 s per million rows.
pub fn sent_since(conn: &Connection, since: i64) -> anyhow::Result<u64> {
    let since_text = chrono::DateTime::from_timestamp(since, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM sends
         WHERE issue IN (SELECT num FROM issue_runs WHERE finished_at IS NULL OR finished_at >= ?2)
           AND state = 1 AND at >= ?1",
        params![since, since_text],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
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
    let (started_at, last_run_at, finished_at, num, planned): (String, String, Option<String>, i64, i64) = conn
        .query_row(
            "SELECT started_at, last_run_at, finished_at, num, recipients FROM issue_runs WHERE issue_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let mut count: HashMap<DeliveryState, u64> = HashMap::new();
    let mut stmt = conn.prepare("SELECT state, count(*) FROM sends WHERE issue = ?1 GROUP BY state")?;
    let rows = stmt.query_map([num], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        count.insert(DeliveryState::from_code(state)?, u64::try_from(n).unwrap_or(0));
    }
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
                at: rfc3339(r.get(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let n = |s: DeliveryState| count.get(&s).copied().unwrap_or(0);
    let rows: u64 = count.values().sum();
    // Recipients of the last run's plan that have no row yet are pending.
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

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_is_an_error() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>().unwrap(), s);
            assert_eq!(DeliveryState::from_code(s.code()).unwrap(), s);
        }
        let e = "delivered".parse::<DeliveryState>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "the journal holds an unknown delivery state \"delivered\""
        );
        let e = DeliveryState::from_code(7).unwrap_err();
        assert_eq!(e.to_string(), "the journal holds an unknown delivery state 7");
    }

    fn row(conn: &Connection, issue: i64, seq: u32, email: &str, state: DeliveryState) {
        conn.execute(
            "INSERT INTO sends (issue, seq, rcpt, state, attempts, at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
            params![issue, seq, crate::address::id(email) as i64, state.code(), unix_now()],
        )
        .unwrap();
    }

    #[test]
    fn run_rows_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::state::open(dir.path()).unwrap();
        let start = begin_run(&mut conn, "w1", 3).unwrap();
        assert_eq!(start.next_seq, 0);
        row(&conn, start.issue, 0, "a@x.org", DeliveryState::Sent);
        row(&conn, start.issue, 1, "b@x.org", DeliveryState::Failed);
        conn.execute(
            "INSERT INTO send_errors VALUES (?1, 1, 'b@x.org', 'SMTP RCPT TO: server replied 550 no')",
            [start.issue],
        )
        .unwrap();
        assert_eq!(sent_ids(&conn, "w1").unwrap(), vec![crate::address::id("A@x.org")]);
        assert!(finished_issues(&conn).unwrap().is_empty());
        let s = issue_status(&conn, "w1").unwrap();
        assert_eq!((s.recipients, s.sent, s.pending, s.failed), (3, 1, 1, 1));
        assert_eq!(s.failures[0].email, "b@x.org");
        assert_eq!(
            s.failures[0].error.as_deref(),
            Some("SMTP RCPT TO: server replied 550 no")
        );
        finish_run(&conn, "w1").unwrap();
        assert_eq!(finished_issues(&conn).unwrap(), HashSet::from(["w1".to_string()]));
        assert!(issue_status(&conn, "w1").unwrap().finished_at.is_some());
        assert_eq!(issues(&conn).unwrap(), vec!["w1".to_string()]);
        conn.execute("UPDATE sends SET state = 9 WHERE seq = 1", [])
            .unwrap_err();

        // A second run keeps the sent row, drops the failed one and its
        // error, and continues after the highest seq.
        let again = begin_run(&mut conn, "w1", 3).unwrap();
        assert_eq!(
            again,
            RunStart {
                issue: start.issue,
                next_seq: 1
            }
        );
        let s = issue_status(&conn, "w1").unwrap();
        assert_eq!((s.recipients, s.sent, s.pending, s.failed), (3, 1, 2, 0));
        // Another issue gets the next number.
        assert_eq!(begin_run(&mut conn, "w2", 0).unwrap().issue, start.issue + 1);
    }

    #[test]
    fn sent_since_counts_accepted_messages_of_every_recent_issue() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::state::open(dir.path()).unwrap();
        let now = unix_now();
        for (issue, n) in [("w1", 3u32), ("w2", 2)] {
            let start = begin_run(&mut conn, issue, u64::from(n)).unwrap();
            for seq in 0..n {
                row(&conn, start.issue, seq, &format!("r{seq}@x.org"), DeliveryState::Sent);
            }
            row(&conn, start.issue, n, "failed@x.org", DeliveryState::Failed);
        }
        conn.execute("UPDATE sends SET at = ?1 WHERE issue = 1 AND seq = 0", [now - 7200])
            .unwrap();
        assert_eq!(sent_since(&conn, now - 3600).unwrap(), 4);
        assert_eq!(sent_since(&conn, now - 86_400).unwrap(), 5);
        // An issue finished before the window cannot have sent in it.
        finish_run(&conn, "w1").unwrap();
        conn.execute(
            "UPDATE issue_runs SET finished_at = '2000-01-01T00:00:00.000Z' WHERE issue_id = 'w1'",
            [],
        )
        .unwrap();
        assert_eq!(sent_since(&conn, now - 3600).unwrap(), 2);
    }
}
