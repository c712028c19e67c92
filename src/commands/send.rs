//! `newsletter send`: deliver an issue (or every due issue) to the list.

use super::load_config;
use crate::cli::SendArgs;
use crate::config::Config;
use crate::dispatch::{self, Options, Report};
use crate::exit::{Exit, Failure};
use crate::issue::Issue;
use crate::journal::{self, JournalWriter, State};
use crate::message::{MessageFactory, Recipient};
use crate::output;
use crate::transport::smtp::SmtpSettings;
use crate::transport::Transport;
use anyhow::{bail, Context};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub fn run(config_path: &Path, args: SendArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if args.due {
        return super::due::run(&cfg, &args, shard);
    }
    let path = args.issue.as_deref().expect("clap requires ISSUE without --due");
    let issue = super::load_issue(path)?;
    send_issue(&cfg, &issue, &args, shard)
}

/// `--shard K/N` → (k, n) with 1 <= k <= n.
pub fn parse_shard(s: &str) -> anyhow::Result<(u64, u64)> {
    let bad = || {
        Failure::new(
            Exit::Invalid,
            format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 2/4"),
        )
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Whether an address falls in shard k of n: a stable hash of the lower-cased address.
pub fn in_shard(email: &str, (k, n): (u64, u64)) -> bool {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(email.to_ascii_lowercase().as_bytes());
    let h = u64::from_be_bytes(d[..8].try_into().expect("8 bytes"));
    h % n == k - 1
}

/// The clock: `NEWSLETTER_DATE` (RFC 3339) when set, for reproducible output; else now.
fn clock() -> anyhow::Result<SystemTime> {
    match std::env::var("NEWSLETTER_DATE") {
        Ok(s) if !s.is_empty() => {
            let t = chrono::DateTime::parse_from_rfc3339(&s)
                .map_err(|e| Failure::new(Exit::Invalid, format!("NEWSLETTER_DATE={s}: {e}")))?;
            Ok(SystemTime::from(t))
        }
        _ => Ok(SystemTime::now()),
    }
}

pub(super) fn send_issue(
    cfg: &Config,
    issue: &Issue,
    args: &SendArgs,
    shard: Option<(u64, u64)>,
) -> anyhow::Result<Exit> {
    let (list, suppressed) = super::load_recipients(cfg)?;
    let prepared = crate::render::prepare(issue, cfg).with_context(|| format!("rendering {}", issue.path.display()))?;
    let mut factory = MessageFactory::new(cfg, issue, &prepared, clock()?)
        .map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    if cfg.newsletter.unsubscribe_url.is_some() && cfg.unsubscribe_secret().is_none() {
        return Err(Failure::new(
            Exit::Invalid,
            format!(
                "unsubscribe_url is set but ${} is empty: messages would go out without a working unsubscribe link",
                cfg.newsletter.unsubscribe_secret_env
            ),
        ));
    }
    let opts = Options {
        concurrency: args.concurrency.unwrap_or(cfg.smtp.concurrency).max(1),
        rate_per_second: args.rate.unwrap_or(cfg.smtp.rate_per_second),
        retries: cfg.smtp.retries,
        retry_base: retry_base(),
    };

    // A test copy: one message, real SMTP, no journal.
    if let Some(to) = &args.to {
        let addr: lettre::Address = to
            .parse()
            .map_err(|e| Failure::new(Exit::Invalid, format!("--to {to}: invalid address: {e}")))?;
        factory = factory.test_copies();
        let email = addr.to_string();
        let recipients = [Recipient {
            email: &email,
            name: None,
            attributes: &[],
        }];
        let transport = transport_for(cfg, args)?;
        let report = deliver(&factory, &recipients, &transport, None, &opts, Duration::ZERO)?;
        return Ok(summarise(issue, &report, 0, 0, args.dry_run));
    }

    let mut recipients: Vec<Recipient> = list
        .iter()
        .filter(|s| shard.is_none_or(|sh| in_shard(&s.email, sh)))
        .map(Recipient::from)
        .collect();

    let other_shard = list.len() - recipients.len();
    if args.dry_run {
        let dir = args
            .outbox
            .clone()
            .unwrap_or_else(|| cfg.paths.outbox.clone())
            .join(&issue.id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        if let Some(limit) = args.limit {
            recipients.truncate(limit);
        }
        let transport = Transport::DryRun { dir: dir.clone() };
        let report = deliver(&factory, &recipients, &transport, None, &opts, Duration::ZERO)?;
        if !output::quiet() {
            println!("dry run: wrote {} messages to {}", report.sent, dir.display());
        }
        return Ok(summarise(issue, &report, 0, suppressed + other_shard, true));
    }

    super::check::gate(cfg, issue, &list)?;
    let _lock = crate::lock::acquire(&cfg.paths.state)?;
    let mut conn = crate::state::open(&cfg.paths.state)?;
    let known = journal::states(&conn, &issue.id)?;
    let before = recipients.len();
    recipients.retain(|r| known.get(&r.email.to_ascii_lowercase()) != Some(&State::Sent));
    let already = before - recipients.len();
    if let Some(limit) = args.limit {
        recipients.truncate(limit);
    }
    if recipients.is_empty() {
        output::log(&format!("{}: nothing to send ({already} already sent)", issue.id));
        if args.limit.is_none() {
            journal::finish_run(&conn, &issue.id)?;
        }
        return Ok(Exit::Ok);
    }
    let transport = transport_for(cfg, args)?;
    confirm(args, issue, recipients.len(), cfg)?;

    // Benchmarks measure the journal's cost by sending without it; a run like
    // that records nothing, so a re-run would mail everyone again.
    if std::env::var_os("NEWSLETTER_BENCH_WITHOUT_JOURNAL").is_some() {
        output::warn("NEWSLETTER_BENCH_WITHOUT_JOURNAL is set: nothing is journalled (benchmarks only)");
        let report = deliver(&factory, &recipients, &transport, None, &opts, Duration::from_secs(5))?;
        return Ok(summarise(issue, &report, already, suppressed + other_shard, false));
    }

    let new: Vec<(String, String)> = recipients
        .iter()
        .map(|r| r.email.to_ascii_lowercase())
        .filter(|e| !known.contains_key(e))
        .map(|e| {
            let id = factory.message_id(&e);
            (e, id)
        })
        .collect();
    journal::begin_run(&mut conn, &issue.id, &new)?;
    let (writer, handle) = JournalWriter::start(crate::state::open(&cfg.paths.state)?, issue.id.clone());
    output::log(&format!(
        "{}: sending to {} recipients ({already} already sent) via {}:{}, {} connection(s)",
        issue.id,
        recipients.len(),
        cfg.smtp.host,
        cfg.smtp.port,
        opts.concurrency
    ));
    let report = deliver(
        &factory,
        &recipients,
        &transport,
        Some(&writer),
        &opts,
        Duration::from_secs(5),
    )?;
    drop(writer);
    let journal_result = handle
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("journal writer panicked")));
    if let Err(e) = journal_result {
        return Err(Failure::new(
            Exit::Aborted,
            format!("the journal could not be written ({e:#}); messages in flight may be sent again by a re-run"),
        ));
    }
    let complete = report.aborted.is_none() && !report.interrupted && report.not_attempted == 0 && args.limit.is_none();
    if complete {
        journal::finish_run(&conn, &issue.id)?;
    }
    Ok(summarise(issue, &report, already, suppressed + other_shard, false))
}

fn retry_base() -> Duration {
    let ms = std::env::var("NEWSLETTER_RETRY_BASE_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    Duration::from_millis(ms)
}

fn transport_for(cfg: &Config, args: &SendArgs) -> anyhow::Result<Transport> {
    if args.dry_run {
        let dir = args
            .outbox
            .clone()
            .unwrap_or_else(|| cfg.paths.outbox.clone())
            .join("test");
        std::fs::create_dir_all(&dir)?;
        return Ok(Transport::DryRun { dir });
    }
    let settings = SmtpSettings::from_config(&cfg.smtp).map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    Ok(Transport::Smtp(settings))
}

fn confirm(args: &SendArgs, issue: &Issue, n: usize, cfg: &Config) -> anyhow::Result<()> {
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            Exit::Invalid,
            "a live send needs confirmation: pass --yes (there is no terminal to ask)",
        ));
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
        bail!(Failure {
            exit: Exit::Invalid,
            message: "not confirmed: nothing was sent".into()
        })
    }
}

/// Runs the dispatcher with Ctrl-C/SIGTERM wired to a graceful stop and a progress display.
fn deliver(
    factory: &MessageFactory<'_>,
    recipients: &[Recipient<'_>],
    transport: &Transport,
    journal: Option<&JournalWriter>,
    opts: &Options,
    log_every: Duration,
) -> anyhow::Result<Report> {
    let cancel = interrupt_flag();
    let progress = super::progress::Display::new(recipients.len() as u64, log_every);
    let report = dispatch::run(factory, recipients, transport, journal, opts, &progress, &cancel);
    progress.finish();
    Ok(report)
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

fn summarise(issue: &Issue, r: &Report, already: usize, suppressed_or_filtered: usize, dry_run: bool) -> Exit {
    let secs = r.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { r.sent as f64 / secs } else { 0.0 };
    let verb = if dry_run { "written" } else { "sent" };
    let line = format!(
        "{}: {verb} {}, failed {}, skipped {} (already sent {already}, unsubscribed, suppressed or in another shard {suppressed_or_filtered}), not attempted {}, {:.1} s, {:.0} msg/s",
        issue.id,
        r.sent,
        r.failed.len(),
        already + suppressed_or_filtered,
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
