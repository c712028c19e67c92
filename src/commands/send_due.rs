//! `send --due`: every issue that is due, oldest first. Built for cron:
//! issues that are not due are never linted, old ones are only mentioned
//! without `--quiet`, and with `--quiet` a run that sends nothing prints
//! nothing at all.

use super::send_one::send_issue;
use super::send_steps::Ran;
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::exit::Exit;
use crate::issue::Issue;
use crate::keys::Keys;
use crate::output;
use crate::send::due::{self, due_issues, Rules, Verdict};
use crate::send::plan::{Mode, SendPlan};
use crate::state::{self, journal};
use std::collections::{HashMap, HashSet};

pub(super) fn run(cfg: &Config, keys: &Keys, plan: &SendPlan) -> anyhow::Result<Exit> {
    let (issues, warnings) = read_issues(cfg)?;
    let progress = match plan.mode {
        Mode::Live { .. } => journal::progress(&state::open(&cfg.paths.state)?)?,
        // A dry run reads no journal: it shows what a fresh folder would send.
        _ => HashMap::new(),
    };
    let rules = Rules {
        now: plan.now.into(),
        max_age: chrono::Duration::days(i64::from(cfg.newsletter.max_age_days)),
        send_after: cfg.newsletter.send_after.map(|t| t.to_utc()),
        journal: &progress,
    };
    let verdicts = due_issues(&issues, &rules);
    let mut due: Vec<(&Issue, Verdict)> = Vec::new();
    for &(issue, verdict) in &verdicts {
        match verdict {
            Verdict::Due | Verdict::Retry => due.push((issue, verdict)),
            Verdict::TooOld if !output::quiet() => output::warn(&format!(
                "{}: dated {}, older than max_age_days = {}: not sent (send it by name, or `newsletter mark-sent {}` to stop this warning)",
                issue.path.display(),
                issue.front.date.format("%Y-%m-%d %H:%M %:z"),
                cfg.newsletter.max_age_days,
                issue.id
            )),
            _ => {}
        }
    }
    if let Some(next) = due::next_held_back(&verdicts) {
        let wait = next.front.date.to_utc() - rules.now;
        output::log(&format!(
            "next: {} is dated {}: held back until then ({})",
            next.id,
            next.front.date.format("%Y-%m-%d %H:%M %:z"),
            output::humanize(wait)
        ));
    }
    if due.is_empty() {
        output::log("nothing due");
        return Ok(Exit::Ok);
    }
    due.sort_by_key(|(i, _)| i.front.date);
    let mut worst = Exit::Ok;
    for (issue, verdict) in due {
        // Only now, for an issue about to go out, do its warnings matter.
        for w in warnings.get(&issue.id).into_iter().flatten() {
            output::diagnostic(w);
        }
        let only: Option<HashSet<String>> = (verdict == Verdict::Retry).then(|| {
            let p = &progress[&issue.id];
            due::ready_retries(p, rules.now).map(|f| f.email.clone()).collect()
        });
        let Ran { exit, capped } = send_issue(cfg, keys, plan, issue, only.as_ref())?;
        if exit != Exit::Ok {
            worst = exit;
        }
        // After an abort nothing else gets through; after a cap, nothing may.
        if exit == Exit::Aborted || capped {
            break;
        }
    }
    Ok(worst)
}

/// Each issue's warnings, by issue id.
type Warnings = HashMap<String, Vec<Diagnostic>>;

/// Every issue of the folder, with its warnings kept aside (printed only
/// for an issue that is sent). An issue that does not parse stops the run:
/// its date is unknown, so it might be due. A file without front matter is
/// not an issue at all and is passed over.
fn read_issues(cfg: &Config) -> anyhow::Result<(Vec<Issue>, Warnings)> {
    let files = super::issue_files(&cfg.paths.issues).map_err(|d| {
        output::diagnostic(&d);
        crate::exit::reported(Exit::Invalid)
    })?;
    let mut issues = Vec::new();
    let mut warnings = HashMap::new();
    let mut broken = false;
    for path in files.iter().filter(|p| super::has_front_matter(p)) {
        match crate::issue::from_file(path) {
            Ok(parsed) => {
                warnings.insert(parsed.issue.id.clone(), parsed.warnings);
                issues.push(parsed.issue);
            }
            Err(diags) => {
                diags.iter().for_each(output::diagnostic);
                broken = true;
            }
        }
    }
    if broken {
        return Err(crate::exit::reported(Exit::Invalid));
    }
    Ok((issues, warnings))
}
