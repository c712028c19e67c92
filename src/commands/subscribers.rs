//! `newsletter subscribers list|count|check|import|add|remove|export`. The
//! list is the subscriber files plus the confirmed sign-ups in the state
//! database, minus the suppression list.

use super::load_config;
use crate::cli::{AddArgs, ImportArgs, RemoveArgs, SubscribersCommand};
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output;
use crate::state::{self, signups, suppression};
use crate::subscribers::{self, Status, Subscribers};
use std::io::Write;
use std::path::Path;

pub fn run(config_path: &Path, cmd: SubscribersCommand) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    match cmd {
        SubscribersCommand::Import(args) => return import(&cfg.paths.subscribers, args),
        SubscribersCommand::Add(args) => return add(&cfg, args),
        SubscribersCommand::Remove(args) => return remove(&cfg, args),
        SubscribersCommand::Export(args) => return super::export::run(&cfg, args),
        _ => {}
    }
    let conn = state::open(&cfg.paths.state)?;
    let mut list = subscribers::load(&cfg.paths.subscribers);
    super::add_signups(&cfg, &mut list)?;
    let suppressed = suppression::suppressed_set(&conn)?;
    for d in &list.diagnostics {
        output::diagnostic(d);
    }
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
        SubscribersCommand::Import(_)
        | SubscribersCommand::Add(_)
        | SubscribersCommand::Remove(_)
        | SubscribersCommand::Export(_) => unreachable!("handled above"),
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
    let is_signups = list.all.iter().filter(|s| s.is_signup()).count();
    let errors = list.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = list.diagnostics.len() - errors;
    output::log(&format!(
        "{} subscribers ({} in files, {is_signups} confirmed sign-ups): {active} active, {} inactive, {} suppressed; {recipients} recipients; {errors} error(s), {warnings} warning(s)",
        list.all.len(),
        list.all.len() - is_signups,
        list.all.len() - active,
        active - recipients,
    ));
}

/// The address, validated, or exit 2 with the reason.
fn checked(email: &str) -> anyhow::Result<String> {
    subscribers::validate_email(email).map_err(|m| Failure::new(Exit::Invalid, m))
}

fn add(cfg: &Config, args: AddArgs) -> anyhow::Result<Exit> {
    let email = checked(&args.email)?;
    let name =
        subscribers::validate_name(args.name.as_deref().unwrap_or("")).map_err(|m| Failure::new(Exit::Invalid, m))?;
    let files = subscribers::load(&cfg.paths.subscribers);
    if let Some(s) = files.find(&email).filter(|s| s.status == Status::Active) {
        println!("{email} is already on the list ({}:{})", s.file.display(), s.line);
        return Ok(Exit::Ok);
    }
    let mut conn = state::open(&cfg.paths.state)?;
    let outcome = signups::add(&mut conn, &email, name.as_deref(), chrono::Utc::now())?;
    println!(
        "{} {email}",
        match outcome {
            signups::Added::Added => "added",
            signups::Added::Confirmed => "confirmed the pending sign-up of",
            signups::Added::AlreadyConfirmed => "already subscribed:",
        }
    );
    // The author may undo their own suppression, never the reader's or the server's.
    match suppression::get(&conn, &email)? {
        Some(s) if s.reason == suppression::Reason::Manual => {
            suppression::unsuppress(&conn, &email)?;
            println!("lifted the manual suppression of {email} (since {})", s.created_at);
        }
        Some(s) => output::warn(&format!(
            "{email} is suppressed ({}, {}, since {}): it is not mailed until `newsletter resubscribe {email}`",
            s.reason, s.source, s.created_at
        )),
        None => {}
    }
    Ok(Exit::Ok)
}

fn remove(cfg: &Config, args: RemoveArgs) -> anyhow::Result<Exit> {
    let email = crate::address::key(&args.email);
    let conn = state::open(&cfg.paths.state)?;
    let mut did = false;
    if signups::remove(&conn, &email)? {
        println!("removed the sign-up of {email}");
        did = true;
    }
    let files = subscribers::load(&cfg.paths.subscribers);
    if let Some(s) = files.find(&email).filter(|s| s.status == Status::Active) {
        // Files are the author's to edit; suppressing keeps the address unmailed meanwhile.
        if suppression::suppress(&conn, &email, suppression::Reason::Manual, "subscribers remove")? {
            println!(
                "suppressed {email}: it is listed in {}:{} (delete it there too, or keep it suppressed)",
                s.file.display(),
                s.line
            );
        }
        did = true;
    }
    if !did {
        println!("{email} is not on the list");
    }
    Ok(Exit::Ok)
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
