//! One row per run of an issue: when it started and ended, how it ended and
//! why ("aborted: SMTP connect: connection refused", "capped: max_per_hour =
//! 300, can go on at …"), and what it sent, failed and suppressed, so that
//! `status` can say what happened last. `mark-sent` records a run too.

use super::journal::now;
use rusqlite::{params, Connection, OptionalExtension};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every planned recipient was attempted.
    Finished,
    /// Stopped by the server, the network or the journal (exit 3).
    Aborted,
    /// Ctrl-C or SIGTERM (exit 3).
    Interrupted,
    /// A `max_per_hour` / `max_per_day` cap was reached (exit 0).
    Capped,
    /// `--limit` left recipients for a later run.
    Limited,
    /// `mark-sent`: recorded as sent without mailing.
    Marked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::Aborted => "aborted",
            Outcome::Interrupted => "interrupted",
            Outcome::Capped => "capped",
            Outcome::Limited => "limited",
            Outcome::Marked => "marked",
        }
    }
}

/// The end of a run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub outcome: Outcome,
    /// Why it stopped (the abort reason, the cap and when it can go on).
    pub detail: Option<String>,
    pub sent: u64,
    pub failed: u64,
    /// Addresses the `[bounces]` thresholds suppressed after this run (refusals met while sending).
    pub suppressed: u64,
}

/// Records the start of a run; returns its id.
pub fn start(conn: &Connection, issue_id: &str) -> anyhow::Result<i64> {
    conn.execute(
        "INSERT INTO runs (issue_id, started_at) VALUES (?1, ?2)",
        params![issue_id, now()],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records how the run ended.
pub fn end(conn: &Connection, run: i64, e: &RunEnd) -> anyhow::Result<()> {
    conn.execute(
        "UPDATE runs SET ended_at = ?2, outcome = ?3, detail = ?4, sent = ?5, failed = ?6, suppressed = ?7
         WHERE id = ?1",
        params![
            run,
            now(),
            e.outcome.as_str(),
            e.detail,
            e.sent as i64,
            e.failed as i64,
            e.suppressed as i64
        ],
    )?;
    Ok(())
}

/// The last run of an issue, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LastRun {
    pub started_at: String,
    /// None when the process died before it could record the end.
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub sent: u64,
    pub failed: u64,
    pub suppressed: u64,
}

pub fn last(conn: &Connection, issue_id: &str) -> anyhow::Result<Option<LastRun>> {
    let row = conn
        .query_row(
            "SELECT started_at, ended_at, outcome, detail, sent, failed, suppressed FROM runs
             WHERE issue_id = ?1 ORDER BY id DESC LIMIT 1",
            [issue_id],
            |r| {
                Ok(LastRun {
                    started_at: r.get(0)?,
                    ended_at: r.get(1)?,
                    outcome: r.get(2)?,
                    detail: r.get(3)?,
                    sent: r.get::<_, i64>(4)?.max(0) as u64,
                    failed: r.get::<_, i64>(5)?.max(0) as u64,
                    suppressed: r.get::<_, i64>(6)?.max(0) as u64,
                })
            },
        )
        .optional()?;
    Ok(row)
}

/// Addresses suppressed by all runs of an issue.
pub fn suppressed_total(conn: &Connection, issue_id: &str) -> anyhow::Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT COALESCE(SUM(suppressed), 0) FROM runs WHERE issue_id = ?1",
        [issue_id],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Whether `mark-sent` recorded this issue.
pub fn is_marked(conn: &Connection, issue_id: &str) -> anyhow::Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM runs WHERE issue_id = ?1 AND outcome = 'marked'",
        [issue_id],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// `mark-sent`: the issue counts as sent and finished without a message
/// going out. False when it was finished already (nothing changes then).
pub fn mark_sent(conn: &mut Connection, issue_id: &str) -> anyhow::Result<bool> {
    let tx = conn.transaction()?;
    let t = now();
    let finished: Option<Option<String>> = tx
        .query_row(
            "SELECT finished_at FROM issue_runs WHERE issue_id = ?1",
            [issue_id],
            |r| r.get(0),
        )
        .optional()?;
    if matches!(finished, Some(Some(_))) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO issue_runs (issue_id, started_at, last_run_at, finished_at) VALUES (?1, ?2, ?2, ?2)
         ON CONFLICT (issue_id) DO UPDATE SET finished_at = ?2",
        params![issue_id, t],
    )?;
    tx.execute(
        "INSERT INTO runs (issue_id, started_at, ended_at, outcome, detail) VALUES (?1, ?2, ?2, 'marked', ?3)",
        params![issue_id, t, "marked as sent by `newsletter mark-sent`; no mail sent"],
    )?;
    tx.commit()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_record_how_they_ended() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::state::open(dir.path()).unwrap();
        assert_eq!(last(&conn, "w1").unwrap(), None);
        let r1 = start(&conn, "w1").unwrap();
        let end1 = RunEnd {
            outcome: Outcome::Aborted,
            detail: Some("SMTP connect: connection refused".into()),
            sent: 5,
            failed: 1,
            suppressed: 2,
        };
        end(&conn, r1, &end1).unwrap();
        let r2 = start(&conn, "w1").unwrap();
        let l = last(&conn, "w1").unwrap().unwrap();
        assert!(l.ended_at.is_none(), "the second run has not ended");
        end(
            &conn,
            r2,
            &RunEnd {
                outcome: Outcome::Finished,
                detail: None,
                sent: 3,
                failed: 0,
                suppressed: 1,
            },
        )
        .unwrap();
        let l = last(&conn, "w1").unwrap().unwrap();
        assert_eq!((l.outcome.as_deref(), l.sent, l.suppressed), (Some("finished"), 3, 1));
        assert_eq!(suppressed_total(&conn, "w1").unwrap(), 3);
    }

    #[test]
    fn mark_sent_finishes_an_issue_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::state::open(dir.path()).unwrap();
        assert!(mark_sent(&mut conn, "old").unwrap());
        assert!(!mark_sent(&mut conn, "old").unwrap());
        assert!(is_marked(&conn, "old").unwrap());
        let finished = crate::state::journal::finished_issues(&conn).unwrap();
        assert!(finished.contains("old"));
        assert_eq!(last(&conn, "old").unwrap().unwrap().outcome.as_deref(), Some("marked"));
    }
}
