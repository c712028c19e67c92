//! `newsletter mark-sent ISSUE... | --all-before DATE`: record issues as
//! sent without mailing them, so that `send --due` leaves a back catalogue
//! alone (and says nothing about it).

use crate::cli::MarkSentArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::issue::Issue;
use crate::output;
use crate::state::{self, runs};
use std::path::Path;

pub fn run(config_path: &Path, args: MarkSentArgs) -> anyhow::Result<Exit> {
    let cfg = super::load_config(config_path)?;
    let env = crate::send::plan::Env::from_process();
    if env.date.is_some() {
        crate::state::journal::set_clock(crate::send::plan::clock(&env)?.into());
    }
    let mut ids = Vec::new();
    for arg in &args.issues {
        let path = super::issue_arg::resolve(&cfg, arg)?;
        ids.push(super::load_issue(&path)?.id);
    }
    let mut broken = false;
    if let Some(date) = &args.all_before {
        let (cutoff, _) = crate::issue::parse_date(date).map_err(|why| {
            let msg = format!("--all-before {date:?} {why}; write a date (2026-11-01) or a date-time with its offset");
            Failure::new(Exit::Invalid, msg)
        })?;
        let (before, errors) = dated_before(&cfg, cutoff)?;
        broken = errors;
        ids.extend(before.into_iter().map(|i| i.id));
    }
    let (newly, already) = mark(&cfg, &ids)?;
    if !output::quiet() {
        println!("{}", report(&newly, already.len()));
    }
    Ok(if broken { Exit::Invalid } else { Exit::Ok })
}

/// Issues of the folder (not drafts) dated before `cutoff`; problems with
/// files are printed, and reported as `true`. Files without front matter
/// are not issues and are passed over.
pub(crate) fn dated_before(
    cfg: &Config,
    cutoff: chrono::DateTime<chrono::FixedOffset>,
) -> anyhow::Result<(Vec<Issue>, bool)> {
    let files = super::issue_files(&cfg.paths.issues).map_err(|d| {
        output::diagnostic(&d);
        crate::exit::reported(Exit::Invalid)
    })?;
    let mut out = Vec::new();
    let mut broken = false;
    for path in files.into_iter().filter(|p| super::has_front_matter(p)) {
        match crate::issue::from_file(&path) {
            Ok(parsed) if !parsed.issue.front.draft && parsed.issue.front.date < cutoff => out.push(parsed.issue),
            Ok(_) => {}
            Err(diags) => {
                diags.iter().for_each(output::diagnostic);
                broken = true;
            }
        }
    }
    Ok((out, broken))
}

/// Records each issue as sent; returns (newly marked, already finished).
pub(crate) fn mark(cfg: &Config, ids: &[String]) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let _lock = crate::lock::acquire(&cfg.paths.state)?;
    let mut conn = state::open(&cfg.paths.state)?;
    let (mut newly, mut already) = (Vec::new(), Vec::new());
    for id in ids {
        if runs::mark_sent(&mut conn, id)? {
            newly.push(id.clone());
        } else {
            already.push(id.clone());
        }
    }
    Ok((newly, already))
}

/// `marked 3 issues as sent (no mail was sent): a, b, c; 1 was finished already`.
pub(crate) fn report(newly: &[String], already: usize) -> String {
    let mut line = match newly.len() {
        0 => "no issue marked".to_string(),
        n => {
            let shown: Vec<&str> = newly.iter().take(5).map(String::as_str).collect();
            let more = if n > 5 {
                format!(" and {} more", n - 5)
            } else {
                String::new()
            };
            let s = if n == 1 { "" } else { "s" };
            format!(
                "marked {n} issue{s} as sent (no mail was sent): {}{more}",
                shown.join(", ")
            )
        }
    };
    if already > 0 {
        let verb = if already == 1 { "was" } else { "were" };
        line.push_str(&format!("; {already} {verb} finished already"));
    }
    line
}
