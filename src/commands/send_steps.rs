//! The steps a send shares between its modes and `--due`: where recipients
//! come from, planning them, the sinks, the confirmation prompt, the
//! dispatcher run, and the summary with its exit code.

use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::issue::Issue;
use crate::message::Compose;
use crate::output;
use crate::send::dispatch::{self, Job, Jobs, Report};
use crate::send::plan::SendPlan;
use crate::send::recipients::{self, Numbering, Plan, Rules, Scan, Skipped};
use crate::send::source::{Chain, Files, Signups, Source};
use crate::state::writer::Journal;
use crate::state::{self, signups, suppression};
use crate::transport::smtp::{SmtpSettings, SmtpSink};
use crate::transport::Sink;
use rusqlite::Connection;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How one issue's run ended, for `--due` to decide whether to go on.
pub(super) struct Ran {
    pub exit: Exit,
    /// A volume cap stopped it: the next issues would stop there too.
    pub capped: bool,
}

impl From<Exit> for Ran {
    fn from(exit: Exit) -> Ran {
        Ran { exit, capped: false }
    }
}

/// Where a run's recipients come from: the subscriber files, then the
/// confirmed sign-ups in the state database.
pub(super) fn list_source(cfg: &Config) -> Chain {
    Chain(vec![
        Box::new(Files {
            dir: cfg.paths.subscribers.clone(),
        }),
        Box::new(Signups {
            state_dir: cfg.paths.state.clone(),
        }),
    ])
}

/// Reads the subscriber list once, printing its problems. Any error in the
/// list means exit 2: nothing is sent from a broken list.
pub(super) fn scan_list(cfg: &Config, source: &dyn Source) -> anyhow::Result<Scan> {
    let scan = recipients::scan(source, &mut |d| output::diagnostic(&d))?;
    if scan.errors > 0 {
        return Err(Failure::new(
            Exit::Invalid,
            format!(
                "{}: the subscriber list has errors: nothing was sent",
                cfg.paths.subscribers.display()
            ),
        ));
    }
    Ok(scan)
}

/// Decides every entry: suppression and sign-ups from `db` (when there is
/// one), the journal's `sent` ids, the shard, `only` and the limit.
pub(super) fn decide(
    scan: Scan,
    source: &dyn Source,
    db: Option<&Connection>,
    sent: &[u64],
    plan: &SendPlan,
    only: Option<&HashSet<String>>,
) -> anyhow::Result<Plan> {
    let (suppressed_ids, signup_ids) = match db {
        Some(conn) => (suppression::suppressed_ids(conn)?, signups::confirmed_ids(conn)?),
        None => (Vec::new(), Vec::new()),
    };
    // The ids are a fast filter (8 bytes an address); the address decides.
    let suppressed = |id: u64, email: &str| -> anyhow::Result<bool> {
        match db {
            Some(conn) if suppressed_ids.binary_search(&id).is_ok() => suppression::is_suppressed(conn, email),
            _ => Ok(false),
        }
    };
    let confirmed = |id: u64, email: &str| -> anyhow::Result<bool> {
        match db {
            Some(conn) if signup_ids.binary_search(&id).is_ok() => signups::is_confirmed(conn, email),
            _ => Ok(false),
        }
    };
    let rules = Rules {
        suppressed: &suppressed,
        confirmed: &confirmed,
        shard: plan.shard,
        sent,
        only,
        limit: plan.limit,
    };
    recipients::decide(scan, source, &rules, &mut |d| output::diagnostic(&d))
}

/// The state database when it exists: a dry run on a fresh folder must not
/// create one just to read the suppression list.
pub(super) fn existing_db(cfg: &Config) -> anyhow::Result<Option<Connection>> {
    if !cfg.paths.state.join(state::DB_FILE).exists() {
        return Ok(None);
    }
    Ok(Some(state::open(&cfg.paths.state)?))
}

pub(super) fn smtp_sink(cfg: &Config) -> anyhow::Result<SmtpSink> {
    let settings = SmtpSettings::from_config(&cfg.smtp).map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    Ok(SmtpSink::new(settings))
}

pub(super) fn confirm(confirmed: bool, issue: &Issue, n: usize, cfg: &Config) -> anyhow::Result<()> {
    if confirmed {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        let msg = "a live send needs confirmation: pass --yes (there is no terminal to ask)";
        return Err(Failure::new(Exit::Invalid, msg));
    }
    eprint!(
        "Send \"{}\" to {n} recipients via {}:{}? [y/N] ",
        issue.front.title, cfg.smtp.host, cfg.smtp.port
    );
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(Exit::Invalid, "not confirmed: nothing was sent"))
    }
}

/// Runs the dispatcher with Ctrl-C/SIGTERM wired to a graceful stop and a progress display.
pub(super) fn deliver<S: Sink>(
    sink: &S,
    compose: &dyn Compose,
    jobs: &Jobs<'_>,
    journal: &dyn Journal,
    plan: &SendPlan,
) -> Report {
    let cancel = interrupt_flag();
    let progress = super::progress::Display::new(jobs.total() as u64, plan.log_every);
    let report = dispatch::run(sink, compose, jobs, journal, &plan.dispatch, &progress, &cancel);
    progress.finish();
    report
}

/// [`deliver`] for the first `count` recipients of `planned`, read from the
/// list by a thread while the run goes on (a bounded queue: memory stays
/// flat). A list that changed under the run stops it (exit 3).
#[allow(clippy::too_many_arguments)] // one call per mode; a struct would only rename them
pub(super) fn deliver_planned<S: Sink>(
    sink: &S,
    compose: &dyn Compose,
    planned: &Plan,
    source: &dyn Source,
    numbering: Numbering,
    count: usize,
    journal: &dyn Journal,
    plan: &SendPlan,
) -> Report {
    // Jobs travel in chunks: one wake-up of the reader per 64 messages.
    const CHUNK: usize = 64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Job>>(4);
    std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let read = recipients::stream(planned, source, numbering, count, &mut |job| {
                chunk.push(job);
                chunk.len() < CHUNK
                    || tx
                        .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                        .is_ok()
            });
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
            read
        });
        let jobs = Jobs::new(rx.into_iter().flatten(), count);
        let mut report = deliver(sink, compose, &jobs, journal, plan);
        drop(jobs); // a reader still sending learns that nobody listens
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the list reader panicked")));
        if let Err(e) = read {
            report.aborted.get_or_insert(format!("{e:#}"));
        }
        report
    })
}

/// A flag set by the first SIGINT/SIGTERM; a second one exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                std::process::exit(Exit::Aborted.code());
            }
            output::line("interrupted: finishing messages in flight; interrupt again to quit now");
        });
        flag
    })
    .clone()
}

/// The summary line, the first failures, and the exit code of the run.
/// Every recipient of the list is in exactly one count. Under `--quiet`
/// the summary still prints when mail went out or something went wrong.
pub(super) fn summarise(issue: &Issue, r: &Report, skipped: &Skipped, files: bool, extra: &[String]) -> Exit {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { r.sent as f64 / secs } else { 0.0 };
    let verb = if files { "written" } else { "sent" };
    let mut notes = String::new();
    if skipped.over_limit > 0 {
        notes.push_str(&format!(", left for a later run by --limit {}", skipped.over_limit));
    }
    for note in extra {
        notes.push_str(&format!(", {note}"));
    }
    if !r.maybe_duplicated.is_empty() {
        let n = r.maybe_duplicated.len();
        notes.push_str(&format!(
            ", {n} may have arrived twice (connection lost after sending; sent again)"
        ));
    }
    if r.suppressed > 0 {
        notes.push_str(&format!(", {} suppressed (refused while sending)", r.suppressed));
    }
    if let Some(rate) = r.slowed_to {
        notes.push_str(&format!(
            ", the server asked to slow down {} times (421/454): rate lowered to {rate:.1} msg/s",
            r.throttled
        ));
    }
    let retry = if skipped.not_retried > 0 {
        format!(", not due for a retry {}", skipped.not_retried)
    } else {
        String::new()
    };
    let line = format!(
        "{}: {verb} {}, failed {}, skipped {} (already sent {}, unsubscribed, suppressed or in another shard {}{retry}), not attempted {}{notes}, {:.1} s, {:.0} msg/s",
        issue.id,
        r.sent,
        r.failed.len(),
        skipped.total(),
        skipped.already_sent,
        skipped.inactive_or_suppressed + skipped.other_shard,
        r.not_attempted,
        secs,
        rate
    );
    let mail_went_out = !files && r.sent > 0;
    if !output::quiet() || mail_went_out || !r.failed.is_empty() || r.aborted.is_some() || r.interrupted {
        output::line(&line);
    }
    for (email, err) in r.failed.iter().take(10) {
        output::warn(&format!("{email}: {err}"));
    }
    if let Some(why) = &r.aborted {
        output::error(&format!("aborted: {why}"));
        output::line("the journal is consistent: fix the cause and run the same command again to resume");
        return Exit::Aborted;
    }
    if r.interrupted {
        output::line("interrupted: run the same command again to resume");
        return Exit::Aborted;
    }
    if r.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::SomeFailed
    }
}
