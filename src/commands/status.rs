//! `newsletter status`: delivery state per issue, as text or stable JSON.

use super::load_config;
use crate::cli::StatusArgs;
use crate::exit::{Exit, Failure};
use rusqlite::Connection;
use serde::Serialize;
use std::path::Path;

/// The `--json` document. Field names and meanings are stable (README "status --json").
#[derive(Serialize)]
struct StatusDoc {
    version: u32,
    issues: Vec<IssueStatus>,
}

#[derive(Serialize)]
struct IssueStatus {
    id: String,
    recipients: u64,
    sent: u64,
    failed: u64,
    pending: u64,
    sending: u64,
    started_at: String,
    last_run_at: String,
    finished_at: Option<String>,
    failures: Vec<FailureRow>,
}

#[derive(Serialize)]
struct FailureRow {
    email: String,
    error: Option<String>,
    attempts: i64,
    at: String,
}

pub fn run(config_path: &Path, args: StatusArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let conn = crate::state::open(&cfg.paths.state)?;
    let wanted = args.issue.as_deref().map(issue_id_of).transpose()?;
    let mut ids: Vec<String> = {
        let mut stmt = conn.prepare("SELECT issue_id FROM issue_runs ORDER BY started_at, issue_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    if let Some(w) = &wanted {
        if !ids.contains(w) {
            return Err(Failure::new(
                Exit::Invalid,
                format!("no delivery recorded for issue \"{w}\""),
            ));
        }
        ids = vec![w.clone()];
    }
    let issues = ids
        .iter()
        .map(|id| issue_status(&conn, id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.json {
        let doc = StatusDoc { version: 1, issues };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(Exit::Ok);
    }
    if issues.is_empty() {
        println!("no deliveries recorded yet");
    }
    for s in &issues {
        let state = match &s.finished_at {
            Some(t) => format!("finished {t}"),
            None => format!("unfinished (last run {})", s.last_run_at),
        };
        println!(
            "{}: {} recipients: {} sent, {} failed, {} pending, {} in flight; {state}",
            s.id, s.recipients, s.sent, s.failed, s.pending, s.sending
        );
        for f in s.failures.iter().take(10) {
            println!(
                "  failed {} after {} attempt(s): {}",
                f.email,
                f.attempts,
                f.error.as_deref().unwrap_or("-")
            );
        }
        if s.failures.len() > 10 {
            println!("  … and {} more (see --json)", s.failures.len() - 10);
        }
    }
    Ok(Exit::Ok)
}

/// An issue argument is an id, or a path whose file is parsed for its id.
fn issue_id_of(arg: &str) -> anyhow::Result<String> {
    let p = Path::new(arg);
    if arg.ends_with(".md") || p.is_file() {
        Ok(super::load_issue(p)?.id)
    } else {
        Ok(arg.to_string())
    }
}

fn issue_status(conn: &Connection, id: &str) -> anyhow::Result<IssueStatus> {
    let (started_at, last_run_at, finished_at): (String, String, Option<String>) = conn.query_row(
        "SELECT started_at, last_run_at, finished_at FROM issue_runs WHERE issue_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut counts = [0u64; 4];
    {
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM deliveries WHERE issue_id = ?1 GROUP BY state")?;
        let rows = stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        for row in rows {
            let (state, n) = row?;
            let i = match state.as_str() {
                "sent" => 0,
                "failed" => 1,
                "pending" => 2,
                _ => 3,
            };
            counts[i] += n;
        }
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
    Ok(IssueStatus {
        id: id.to_string(),
        recipients: counts.iter().sum(),
        sent: counts[0],
        failed: counts[1],
        pending: counts[2],
        sending: counts[3],
        started_at,
        last_run_at,
        finished_at,
        failures,
    })
}
