//! `newsletter send`: the command line becomes one [`SendPlan`]; each issue
//! of the plan then goes through the sink its mode asks for (SMTP, `.eml`
//! files), with the journal for live sends.

use super::{load_config, load_issue, load_keys, load_list};
use crate::cli::SendArgs;
use crate::config::Config;
use crate::exit::{self, Exit, Failure};
use crate::issue::Issue;
use crate::keys::Keys;
use crate::message::{Compose, MessageFactory, Recipient};
use crate::output;
use crate::send::dispatch::{self, Report};
use crate::send::due::{due_issues, Verdict};
use crate::send::plan::{Env, Mode, SendPlan, Target};
use crate::send::recipients::{self, Planned, Skipped};
use crate::state::writer::{Journal, JournalWriter, NoJournal};
use crate::state::{self, journal, suppression};
use crate::subscribers::Subscriber;
use crate::transport::eml::EmlSink;
use crate::transport::smtp::{SmtpSettings, SmtpSink};
use crate::transport::Sink;
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn run(config_path: &std::path::Path, args: SendArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let plan = SendPlan::new(&args, &cfg, &Env::from_process())?;
    let keys = load_keys(&cfg)?;
    match &plan.target {
        Target::Issue(path) => send_issue(&cfg, &keys, &plan, &load_issue(path)?),
        Target::Due => send_due(&cfg, &keys, &plan),
    }
}

/// Every due issue, oldest file name first; stops after an aborted one.
fn send_due(cfg: &Config, keys: &Keys, plan: &SendPlan) -> anyhow::Result<Exit> {
    let files = super::issue_files(&cfg.paths.issues).map_err(|d| {
        output::diagnostic(&d);
        Failure::new(Exit::Invalid, "no issues to look at")
    })?;
    let issues = files
        .iter()
        .map(|p| load_issue(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let finished = match plan.mode {
        Mode::Live { .. } => journal::finished_issues(&state::open(&cfg.paths.state)?)?,
        _ => HashSet::new(),
    };
    let max_age = chrono::Duration::days(i64::from(cfg.newsletter.max_age_days));
    let mut due = Vec::new();
    for (issue, verdict) in due_issues(&issues, plan.now.into(), max_age, &finished) {
        match verdict {
            Verdict::Due => due.push(issue),
            Verdict::TooOld => output::warn(&format!(
                "{}: dated {}, older than max_age_days = {}: not sent (send it by name to override)",
                issue.path.display(),
                issue.front.date.format("%Y-%m-%d %H:%M %:z"),
                cfg.newsletter.max_age_days
            )),
            Verdict::Draft | Verdict::NotYet | Verdict::Finished => {}
        }
    }
    if due.is_empty() {
        output::log("nothing due");
        return Ok(Exit::Ok);
    }
    let mut worst = Exit::Ok;
    for issue in due {
        let exit = send_issue(cfg, keys, plan, issue)?;
        if exit != Exit::Ok {
            worst = exit;
        }
        if exit == Exit::Aborted {
            break;
        }
    }
    Ok(worst)
}

fn send_issue(cfg: &Config, keys: &Keys, plan: &SendPlan, issue: &Issue) -> anyhow::Result<Exit> {
    let prepared = crate::render::prepare(issue, cfg).with_context(|| format!("rendering {}", issue.path.display()))?;
    let factory = MessageFactory::new(cfg, issue, &prepared, keys, plan.now)
        .map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    match &plan.mode {
        Mode::TestCopy { to, dir } => {
            let factory = factory.test_copies();
            let recipients = [Recipient { email: to, name: None }];
            let report = match dir {
                Some(dir) => deliver(&EmlSink::new(dir.clone())?, &factory, &recipients, &NoJournal, plan),
                None => deliver(&smtp_sink(cfg)?, &factory, &recipients, &NoJournal, plan),
            };
            Ok(summarise(issue, &report, &Skipped::default(), dir.is_some()))
        }
        Mode::DryRun { outbox } => {
            let list = load_list(cfg)?;
            let suppressed = suppressed_if_any(cfg)?;
            let planned = recipients::plan(&list, &suppressed, plan.shard, &HashMap::new(), plan.limit);
            let sink = EmlSink::new(outbox.join(&issue.id))?;
            let report = deliver(&sink, &factory, &planned.recipients, &NoJournal, plan);
            if !output::quiet() {
                println!("dry run: wrote {} messages to {}", report.sent, sink.dir().display());
            }
            Ok(summarise(issue, &report, &planned.skipped, true))
        }
        Mode::Live { confirmed, journal } => {
            let list = load_list(cfg)?;
            let _lock = crate::lock::acquire(&cfg.paths.state)?;
            // From here on delivery may have started: an error that does not
            // say otherwise means "aborted, re-run to resume".
            let stopped = "the run stopped; the journal is consistent: re-run the same command to resume";
            live(cfg, plan, issue, &factory, &list, !*journal, *confirmed)
                .map_err(|e| exit::default_to(e, Exit::Aborted, stopped))
        }
    }
}

/// A live send with the run lock held.
fn live(
    cfg: &Config,
    plan: &SendPlan,
    issue: &Issue,
    factory: &MessageFactory<'_>,
    list: &[Subscriber],
    without_journal: bool,
    confirmed: bool,
) -> anyhow::Result<Exit> {
    let mut conn = state::open(&cfg.paths.state)?;
    // Refusals recorded by a run that stopped before its thresholds were applied.
    apply_bounce_thresholds(cfg, &conn)?;
    let suppressed = suppression::suppressed_set(&conn)?;
    let known = journal::states(&conn, &issue.id)?;
    let planned = recipients::plan(list, &suppressed, plan.shard, &known, plan.limit);
    if planned.recipients.is_empty() {
        let already = planned.skipped.already_sent;
        output::log(&format!("{}: nothing to send ({already} already sent)", issue.id));
        if plan.limit.is_none() {
            journal::finish_run(&conn, &issue.id)?;
        }
        return Ok(Exit::Ok);
    }
    let sink = smtp_sink(cfg)?;
    warn_about_previous_issue(&conn, &issue.id)?;
    confirm(confirmed, issue, planned.recipients.len(), cfg)?;
    if without_journal {
        // Benchmarks measure the journal's cost by sending without it; a run
        // like that records nothing, so a re-run would mail everyone again.
        output::warn("NEWSLETTER_BENCH_WITHOUT_JOURNAL is set: nothing is journalled (benchmarks only)");
        let report = deliver(&sink, factory, &planned.recipients, &NoJournal, plan);
        return Ok(summarise(issue, &report, &planned.skipped, false));
    }
    let new: Vec<(String, String)> = planned
        .recipients
        .iter()
        .map(|r| crate::address::key(r.email))
        .filter(|k| !known.contains_key(k))
        .map(|k| {
            let id = factory.message_id(&k);
            (k, id)
        })
        .collect();
    journal::begin_run(&mut conn, &issue.id, &new)?;
    output::log(&format!(
        "{}: sending to {} recipients ({} already sent) via {}:{}, {} connection(s)",
        issue.id,
        planned.recipients.len(),
        planned.skipped.already_sent,
        cfg.smtp.host,
        cfg.smtp.port,
        plan.dispatch.concurrency
    ));
    let report = journalled(cfg, plan, issue, factory, &sink, &planned)?;
    apply_bounce_thresholds(cfg, &conn)?;
    let complete = report.aborted.is_none() && !report.interrupted && report.not_attempted == 0;
    if complete && plan.limit.is_none() {
        journal::finish_run(&conn, &issue.id)?;
    }
    Ok(summarise(issue, &report, &planned.skipped, false))
}

/// Suppresses the addresses whose recorded refusals and bounces reach the
/// `[bounces]` thresholds, saying so.
fn apply_bounce_thresholds(cfg: &Config, conn: &rusqlite::Connection) -> anyhow::Result<()> {
    let candidates = state::bounces::unsuppressed_addresses(conn)?;
    for s in state::bounces::apply_thresholds(conn, &cfg.bounces.thresholds, &candidates)? {
        output::log(&format!("suppressed {} as {} ({})", s.email, s.reason, s.why));
    }
    Ok(())
}

/// Warns before a live run when the previous issue bounced or drew
/// complaints over the rates mailbox providers act on.
fn warn_about_previous_issue(conn: &rusqlite::Connection, current: &str) -> anyhow::Result<()> {
    let previous = state::bounces::recent_issues(conn, 2)?
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| id != current);
    let Some(previous) = previous else {
        return Ok(());
    };
    let sent = journal::issue_status(conn, &previous)?.sent;
    let counts = state::bounces::counts_by_issue(conn)?
        .remove(&Some(previous.clone()))
        .unwrap_or_default();
    for w in crate::intake::rate_warnings(&previous, sent, &counts) {
        output::warn(&w);
    }
    Ok(())
}

/// Delivers with the journal writer running; a writer failure aborts (exit 3).
fn journalled(
    cfg: &Config,
    plan: &SendPlan,
    issue: &Issue,
    factory: &MessageFactory<'_>,
    sink: &SmtpSink,
    planned: &Planned<'_>,
) -> anyhow::Result<Report> {
    let (writer, thread) = JournalWriter::start(state::open(&cfg.paths.state)?, issue.id.clone())?;
    let report = deliver(sink, factory, &planned.recipients, &writer, plan);
    drop(writer);
    let written = thread
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("journal writer panicked")));
    if let Err(e) = written {
        return Err(Failure::new(
            Exit::Aborted,
            format!("the journal could not be written ({e:#}); messages in flight may be sent again by a re-run"),
        ));
    }
    Ok(report)
}

/// The suppression list, or nothing when there is no database yet: a dry
/// run on a fresh folder must not create one just to read it.
fn suppressed_if_any(cfg: &Config) -> anyhow::Result<HashSet<String>> {
    if !cfg.paths.state.join(state::DB_FILE).exists() {
        return Ok(HashSet::new());
    }
    suppression::suppressed_set(&state::open(&cfg.paths.state)?)
}

fn smtp_sink(cfg: &Config) -> anyhow::Result<SmtpSink> {
    let settings = SmtpSettings::from_config(&cfg.smtp).map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    Ok(SmtpSink::new(settings))
}

fn confirm(confirmed: bool, issue: &Issue, n: usize, cfg: &Config) -> anyhow::Result<()> {
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
fn deliver<S: Sink>(
    sink: &S,
    compose: &dyn Compose,
    recipients: &[Recipient<'_>],
    journal: &dyn Journal,
    plan: &SendPlan,
) -> Report {
    let cancel = interrupt_flag();
    let progress = super::progress::Display::new(recipients.len() as u64, plan.log_every);
    let report = dispatch::run(sink, compose, recipients, journal, &plan.dispatch, &progress, &cancel);
    progress.finish();
    report
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
            eprintln!("interrupted: finishing messages in flight; interrupt again to quit now");
        });
        flag
    })
    .clone()
}

/// The summary line, the first failures, and the exit code of the run.
fn summarise(issue: &Issue, r: &Report, skipped: &Skipped, files: bool) -> Exit {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { r.sent as f64 / secs } else { 0.0 };
    let verb = if files { "written" } else { "sent" };
    let mut notes = String::new();
    if skipped.over_limit > 0 {
        notes.push_str(&format!(", left for a later run by --limit {}", skipped.over_limit));
    }
    if !r.maybe_duplicated.is_empty() {
        let n = r.maybe_duplicated.len();
        notes.push_str(&format!(
            ", {n} may have arrived twice (connection lost after sending; sent again)"
        ));
    }
    let line = format!(
        "{}: {verb} {}, failed {}, skipped {} (already sent {}, unsubscribed, suppressed or in another shard {}), not attempted {}{notes}, {:.1} s, {:.0} msg/s",
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
    if !output::quiet() || !r.failed.is_empty() || r.aborted.is_some() {
        eprintln!("{line}");
    }
    for (email, err) in r.failed.iter().take(10) {
        output::warn(&format!("{email}: {err}"));
    }
    if let Some(why) = &r.aborted {
        eprintln!("{}: aborted: {why}", output::paint("31;1", "error"));
        eprintln!("the journal is consistent: fix the cause and run the same command again to resume");
        return Exit::Aborted;
    }
    if r.interrupted {
        eprintln!("interrupted: run the same command again to resume");
        return Exit::Aborted;
    }
    if r.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::SomeFailed
    }
}
