//! `newsletter status`: delivery state per issue, as text or stable JSON.

use super::load_config;
use crate::cli::StatusArgs;
use crate::exit::{Exit, Failure};
use crate::state::journal::{self, IssueStatus};
use serde::Serialize;
use std::path::Path;

/// The `--json` document. Field names and meanings are stable (README "status --json").
#[derive(Serialize)]
struct StatusDoc {
    version: u32,
    issues: Vec<IssueStatus>,
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
    let issues = ids
        .iter()
        .map(|id| journal::issue_status(&conn, id))
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
