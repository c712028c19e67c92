//! `newsletter status`: delivery state per issue, as text or stable JSON:
//! counts, failures, how the last run ended and why, what the runs
//! suppressed, when transient failures are retried, and which issue
//! `send --due` sends next.

use super::load_config;
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::intake::rate;
use crate::output;
use crate::send::due::{self, Rules, Verdict};
use crate::state::bounces::{self, Counts};
use crate::state::journal::{self, IssueStatus, Progress};
use crate::state::runs::{self, LastRun};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// The `--json` document. Field names and meanings are stable (README
/// "status --json"); version 2 added the bounce fields, nothing else changed.
#[derive(Serialize)]
struct StatusDoc {
    version: u32,
    issues: Vec<Entry>,
    /// The issue `send --due` sends next: due now, or the earliest held back.
    next: Option<Next>,
    /// Bounces and complaints that could not be tied to an issue.
    unmatched_bounces: Counts,
}

#[derive(Serialize)]
struct Entry {
    #[serde(flatten)]
    status: IssueStatus,
    last_run: Option<LastRun>,
    /// Addresses the issue's runs added to the suppression list.
    suppressed: u64,
    /// When `send --due` next retries a transient failure.
    next_retry_at: Option<String>,
    #[serde(flatten)]
    bounces: Bounces,
}

/// Recipients of the issue with a hard bounce, a soft bounce, a complaint
/// recorded, and those counts over `sent` (0 when nothing was sent).
#[derive(Serialize)]
struct Bounces {
    hard_bounces: u64,
    soft_bounces: u64,
    complaints: u64,
    hard_bounce_rate: f64,
    soft_bounce_rate: f64,
    complaint_rate: f64,
}

impl Bounces {
    fn new(c: Counts, sent: u64) -> Self {
        Bounces {
            hard_bounces: c.hard,
            soft_bounces: c.soft,
            complaints: c.complaints,
            hard_bounce_rate: rate(c.hard, sent),
            soft_bounce_rate: rate(c.soft, sent),
            complaint_rate: rate(c.complaints, sent),
        }
    }
}

#[derive(Serialize)]
struct Next {
    id: String,
    date: String,
    /// True when the next `send --due` sends it.
    due_now: bool,
}

pub fn run(config_path: &Path, args: StatusArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let conn = crate::state::open(&cfg.paths.state)?;
    let mut ids = journal::issues(&conn)?;
    if let Some(arg) = args.issue.as_deref() {
        let id = issue_id_of(&cfg, arg, &ids)?;
        if !ids.contains(&id) {
            let msg = format!("no delivery recorded for issue \"{id}\"");
            return Err(Failure::new(Exit::Invalid, msg));
        }
        ids = vec![id];
    }
    let progress = journal::progress(&conn)?;
    let mut counts = bounces::counts_by_issue(&conn)?;
    let entries = ids
        .iter()
        .map(|id| entry(&conn, id, progress.get(id), counts.remove(&Some(id.clone()))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let unmatched = counts.remove(&None).unwrap_or_default();
    let next = if args.issue.is_none() {
        next_issue(&cfg, &progress)?
    } else {
        None
    };
    if args.json {
        let doc = StatusDoc {
            version: 2,
            issues: entries,
            next,
            unmatched_bounces: unmatched,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(Exit::Ok);
    }
    if entries.is_empty() {
        println!("no deliveries recorded yet");
    }
    entries.iter().for_each(print_entry);
    if unmatched != Counts::default() && args.issue.is_none() {
        println!(
            "bounces not tied to an issue: {} hard, {} soft, {} complaint(s)",
            unmatched.hard, unmatched.soft, unmatched.complaints
        );
    }
    if let Some(n) = next {
        print_next(&n)?;
    }
    Ok(Exit::Ok)
}

fn entry(conn: &Connection, id: &str, progress: Option<&Progress>, c: Option<Counts>) -> anyhow::Result<Entry> {
    let status = journal::issue_status(conn, id)?;
    Ok(Entry {
        bounces: Bounces::new(c.unwrap_or_default(), status.sent),
        status,
        last_run: runs::last(conn, id)?,
        suppressed: runs::suppressed_total(conn, id)?,
        next_retry_at: progress.and_then(due::next_retry).map(|t| utc(&t)),
    })
}

fn print_entry(e: &Entry) {
    let s = &e.status;
    let marked = e.last_run.as_ref().filter(|r| r.outcome.as_deref() == Some("marked"));
    if let (Some(run), 0) = (marked, s.recipients) {
        let at = run.ended_at.as_deref().unwrap_or(&run.started_at);
        println!("{}: marked as sent {at} (no mail was sent)", s.id);
        return;
    }
    let state = match &s.finished_at {
        Some(t) => format!("finished {t}"),
        None => format!("unfinished (last run {})", s.last_run_at),
    };
    println!(
        "{}: {} recipients: {} sent, {} failed, {} pending, {} in flight; {state}",
        s.id, s.recipients, s.sent, s.failed, s.pending, s.sending
    );
    if let Some(run) = &e.last_run {
        println!("  {}", last_run_line(run));
    }
    let b = &e.bounces;
    println!(
        "  bounces: {} hard ({:.1}%), {} soft ({:.1}%), {} complaint(s) ({:.2}%)",
        b.hard_bounces,
        b.hard_bounce_rate * 100.0,
        b.soft_bounces,
        b.soft_bounce_rate * 100.0,
        b.complaints,
        b.complaint_rate * 100.0
    );
    if e.suppressed > 0 {
        println!(
            "  {} address(es) suppressed after its runs (refused while sending; see the [bounces] thresholds)",
            e.suppressed
        );
    }
    if let Some(t) = &e.next_retry_at {
        println!("  transient failures: send --due tries them again from {t}");
    }
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

/// `last run: aborted 2026-11-30T21:15:13Z: SMTP connect: connection refused`.
fn last_run_line(run: &LastRun) -> String {
    let Some(ended) = &run.ended_at else {
        return format!(
            "last run: started {} and never recorded its end (killed?); send resumes it",
            run.started_at
        );
    };
    let outcome = run.outcome.as_deref().unwrap_or("ended");
    let what = if outcome == "marked" { "marked as sent" } else { outcome };
    let mut line = format!("last run: {what} {ended}");
    if outcome != "marked" {
        line.push_str(&format!(" ({} sent, {} failed)", run.sent, run.failed));
    }
    if let Some(d) = run.detail.as_deref().filter(|_| outcome != "marked") {
        line.push_str(&format!(": {d}"));
    }
    line
}

fn print_next(n: &Next) -> anyhow::Result<()> {
    if n.due_now {
        println!("next: {} is due: the next send --due sends it", n.id);
    } else {
        let date = DateTime::parse_from_rfc3339(&n.date)?;
        let wait = date.to_utc() - now()?;
        println!(
            "next: {} goes out with send --due from {} ({})",
            n.id,
            date.format("%Y-%m-%d %H:%M %:z"),
            output::humanize(wait)
        );
    }
    Ok(())
}

/// The issue the next `send --due` sends, else the earliest held back.
fn next_issue(cfg: &Config, progress: &HashMap<String, Progress>) -> anyhow::Result<Option<Next>> {
    let issues: Vec<crate::issue::Issue> = super::issue_files(&cfg.paths.issues)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| crate::issue::from_file(p).ok().map(|parsed| parsed.issue))
        .collect();
    let rules = Rules {
        now: now()?,
        max_age: chrono::Duration::days(i64::from(cfg.newsletter.max_age_days)),
        send_after: cfg.newsletter.send_after.map(|t| t.to_utc()),
        journal: progress,
    };
    let verdicts = due::due_issues(&issues, &rules);
    let now_due = verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Due | Verdict::Retry))
        .map(|(i, _)| *i)
        .min_by_key(|i| i.front.date);
    let (issue, due_now) = match (now_due, due::next_held_back(&verdicts)) {
        (Some(i), _) => (i, true),
        (None, Some(i)) => (i, false),
        (None, None) => return Ok(None),
    };
    Ok(Some(Next {
        id: issue.id.clone(),
        date: issue.front.date.to_rfc3339(),
        due_now,
    }))
}

/// `NEWSLETTER_DATE` when set, else now.
fn now() -> anyhow::Result<DateTime<Utc>> {
    Ok(crate::send::plan::clock(&crate::send::plan::Env::from_process())?.into())
}

fn utc(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An issue argument is a file or an id: a journalled id as it is (its file
/// may be gone), else whatever the issues folder calls it.
fn issue_id_of(cfg: &Config, arg: &str, journalled: &[String]) -> anyhow::Result<String> {
    if journalled.iter().any(|id| id == arg) {
        return Ok(arg.to_string());
    }
    let p = Path::new(arg);
    if p.is_file() {
        return Ok(super::load_issue(p)?.id);
    }
    let index = super::issue_arg::index(&cfg.paths.issues);
    if let Some((id, _)) = index.iter().find(|(id, _)| id == arg) {
        return Ok(id.clone());
    }
    let mut ids: Vec<&str> = journalled.iter().map(String::as_str).collect();
    ids.extend(index.iter().map(|(id, _)| id.as_str()));
    ids.sort_unstable();
    ids.dedup();
    let msg = super::issue_arg::miss(arg, &cfg.paths.issues, &ids);
    Err(Failure::new(Exit::Invalid, msg))
}
