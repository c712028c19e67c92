//! `newsletter subscribers list|count|check|import`.

use super::load_config;
use crate::cli::{ImportArgs, SubscribersCommand};
use crate::exit::{Exit, Failure};
use crate::output;
use crate::state::{self, suppression};
use crate::subscribers::{self, Status, Subscribers};
use std::io::Write;
use std::path::Path;

pub fn run(config_path: &Path, cmd: SubscribersCommand) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    if let SubscribersCommand::Import(args) = cmd {
        return import(&cfg.paths.subscribers, args);
    }
    let list = subscribers::load(&cfg.paths.subscribers);
    for d in &list.diagnostics {
        output::diagnostic(d);
    }
    let conn = state::open(&cfg.paths.state)?;
    let suppressed = suppression::suppressed_set(&conn)?;
    match cmd {
        SubscribersCommand::List => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for s in list.recipients(&suppressed) {
                if let Err(e) = writeln!(out, "{s}") {
                    return broken_pipe_is_ok(e);
                }
            }
            if let Err(e) = out.flush() {
                return broken_pipe_is_ok(e);
            }
        }
        SubscribersCommand::Count => println!("{}", list.recipients(&suppressed).count()),
        SubscribersCommand::Check => summary(&list, &suppressed),
        SubscribersCommand::Import(_) => unreachable!("handled above"),
    }
    if list.has_errors() {
        let n = list.diagnostics.iter().filter(|d| d.is_error()).count();
        return Err(Failure::new(
            Exit::Invalid,
            format!("{n} error(s) in the subscriber list"),
        ));
    }
    Ok(Exit::Ok)
}

/// `list | head` closes the pipe early; that is not an error.
fn broken_pipe_is_ok(e: std::io::Error) -> anyhow::Result<Exit> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(Exit::Ok)
    } else {
        Err(e.into())
    }
}

fn summary(list: &Subscribers, suppressed: &std::collections::HashSet<String>) {
    let active = list.all.iter().filter(|s| s.status == Status::Active).count();
    let recipients = list.recipients(suppressed).count();
    let errors = list.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = list.diagnostics.len() - errors;
    output::log(&format!(
        "{} subscribers: {active} active, {} inactive, {} suppressed; {recipients} recipients; {errors} error(s), {warnings} warning(s)",
        list.all.len(),
        list.all.len() - active,
        active - recipients,
    ));
}

fn import(dir: &Path, args: ImportArgs) -> anyhow::Result<Exit> {
    let report = subscribers::import::import(&args.file, dir, args.name.as_deref())
        .map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    for d in &report.skipped {
        output::diagnostic(d);
    }
    for note in &report.notes {
        output::warn(note);
    }
    let by_status: Vec<String> = report.written.iter().map(|(s, n)| format!("{n} {s}")).collect();
    output::log(&format!(
        "imported {} subscribers into {} ({}); skipped {} row(s)",
        report.total_written(),
        report.output.display(),
        if by_status.is_empty() {
            "none".to_string()
        } else {
            by_status.join(", ")
        },
        report
            .skipped
            .iter()
            .filter(|d| d.message.starts_with("skipped:"))
            .count(),
    ));
    Ok(Exit::Ok)
}
