//! `newsletter status`: delivery state per issue, as text or stable JSON.

use super::load_config;
use crate::cli::StatusArgs;
use crate::exit::{Exit, Failure};
use crate::intake::rate;
use crate::state::bounces::{self, Counts};
use crate::state::journal::{self, IssueStatus};
use serde::Serialize;
use std::path::Path;

/// The `--json` document. Field names and meanings are stable (README
/// "status --json"); version 2 added the bounce fields, nothing else changed.
#[derive(Serialize)]
struct StatusDoc {
    version: u32,
    issues: Vec<IssueDoc>,
    /// Bounces and complaints that could not be tied to an issue.
    unmatched_bounces: Counts,
}

/// One issue: the journal's counts and, since version 2, its bounces.
#[derive(Serialize)]
struct IssueDoc {
    #[serde(flatten)]
    status: IssueStatus,
    /// Recipients with a hard bounce, a soft bounce, a complaint.
    hard_bounces: u64,
    soft_bounces: u64,
    complaints: u64,
    /// Those counts over `sent` (0 when nothing was sent).
    hard_bounce_rate: f64,
    soft_bounce_rate: f64,
    complaint_rate: f64,
}

impl IssueDoc {
    fn new(status: IssueStatus, c: Counts) -> Self {
        let sent = status.sent;
        IssueDoc {
            hard_bounces: c.hard,
            soft_bounces: c.soft,
            complaints: c.complaints,
            hard_bounce_rate: rate(c.hard, sent),
            soft_bounce_rate: rate(c.soft, sent),
            complaint_rate: rate(c.complaints, sent),
            status,
        }
    }
}

pub fn run(config_path: &Path, args: StatusArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let conn = crate::state::open(&cfg.paths.state)?;
    let wanted = args.issue.as_deref().map(issue_id_of).transpose()?;
    let mut ids = journal::issues(&conn)?;
    if let Some(w) = &wanted {
        if !ids.contains(w) {
            return Err(Failure::new(
                Exit::Invalid,
                format!("no delivery recorded for issue \"{w}\""),
            ));
        }
        ids = vec![w.clone()];
    }
    let mut counts = bounces::counts_by_issue(&conn)?;
    let issues = ids
        .iter()
        .map(|id| {
            let c = counts.remove(&Some(id.clone())).unwrap_or_default();
            Ok(IssueDoc::new(journal::issue_status(&conn, id)?, c))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let unmatched = counts.remove(&None).unwrap_or_default();
    if args.json {
        let doc = StatusDoc {
            version: 2,
            issues,
            unmatched_bounces: unmatched,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(Exit::Ok);
    }
    if issues.is_empty() {
        println!("no deliveries recorded yet");
    }
    for doc in &issues {
        let s = &doc.status;
        let state = match &s.finished_at {
            Some(t) => format!("finished {t}"),
            None => format!("unfinished (last run {})", s.last_run_at),
        };
        println!(
            "{}: {} recipients: {} sent, {} failed, {} pending, {} in flight; {state}",
            s.id, s.recipients, s.sent, s.failed, s.pending, s.sending
        );
        println!(
            "  bounces: {} hard ({:.1}%), {} soft ({:.1}%), {} complaint(s) ({:.2}%)",
            doc.hard_bounces,
            doc.hard_bounce_rate * 100.0,
            doc.soft_bounces,
            doc.soft_bounce_rate * 100.0,
            doc.complaints,
            doc.complaint_rate * 100.0
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
    if unmatched != Counts::default() && wanted.is_none() {
        println!(
            "not tied to an issue: {} hard, {} soft, {} complaint(s)",
            unmatched.hard, unmatched.soft, unmatched.complaints
        );
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
