//! The dispatcher: worker threads (one SMTP connection each, reused), a shared
//! rate limit, retries with backoff, and journal updates.
//!
//! Each worker is an OS thread with a small single-threaded tokio runtime for
//! lettre's async client; threads borrow the message factory through a scope,
//! so nothing per issue is copied per recipient.

use crate::journal::{Event, JournalWriter};
use crate::message::{Built, MessageFactory, Recipient};
use crate::ratelimit::TokenBucket;
use crate::transport::smtp::{SmtpConnection, SmtpError, SmtpSettings};
use crate::transport::{write_eml, Transport};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Options {
    pub concurrency: usize,
    pub rate_per_second: f64,
    /// Retries after the first attempt, for transient failures.
    pub retries: u32,
    /// First backoff; doubled for each retry.
    pub retry_base: Duration,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub sent: usize,
    /// (address, last error) of recipients that failed.
    pub failed: Vec<(String, String)>,
    /// Recipients never attempted (interrupted or aborted).
    pub not_attempted: usize,
    /// Why the run stopped early: unreachable server, refused authentication, too many transient failures.
    pub aborted: Option<String>,
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// Progress callbacks, so the command decides between a bar and log lines.
pub trait Progress: Sync {
    fn delivered(&self, email: &str);
    fn failed(&self, email: &str, error: &str);
}

struct Shared<'a> {
    next: AtomicUsize,
    recipients: &'a [Recipient<'a>],
    stop: AtomicBool,
    cancel: &'a AtomicBool,
    consecutive_transient: AtomicUsize,
    max_consecutive_transient: usize,
    bucket: TokenBucket,
    report: Mutex<Report>,
}

impl Shared<'_> {
    fn take(&self) -> Option<&Recipient<'_>> {
        if self.stop.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed) {
            return None;
        }
        self.recipients.get(self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn abort(&self, why: String) {
        let mut r = self.report.lock().expect("report");
        if r.aborted.is_none() {
            r.aborted = Some(why);
        }
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Delivers one message per recipient through `transport`.
pub fn run(
    factory: &MessageFactory<'_>,
    recipients: &[Recipient<'_>],
    transport: &Transport,
    journal: Option<&JournalWriter>,
    opts: &Options,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Report {
    let start = Instant::now();
    let workers = opts.concurrency.max(1).min(recipients.len().max(1));
    let shared = Shared {
        next: AtomicUsize::new(0),
        recipients,
        stop: AtomicBool::new(false),
        cancel,
        consecutive_transient: AtomicUsize::new(0),
        max_consecutive_transient: (3 * workers).max(10),
        bucket: TokenBucket::new(opts.rate_per_second),
        report: Mutex::new(Report::default()),
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            let shared = &shared;
            s.spawn(move || match transport {
                Transport::DryRun { dir } => dry_run_worker(shared, factory, dir, progress),
                Transport::Smtp(settings) => smtp_worker(shared, factory, settings, journal, opts, progress),
            });
        }
    });
    let mut report = shared.report.into_inner().expect("report");
    let attempted = shared.next.load(Ordering::Relaxed).min(recipients.len());
    report.not_attempted = recipients.len() - attempted;
    report.interrupted = cancel.load(Ordering::Relaxed);
    report.elapsed = start.elapsed();
    report
}

fn dry_run_worker(shared: &Shared<'_>, factory: &MessageFactory<'_>, dir: &std::path::Path, progress: &dyn Progress) {
    while let Some(r) = shared.take() {
        let result = factory.build(*r).and_then(|built| write_eml(dir, r.email, &built));
        match result {
            Ok(()) => {
                shared.report.lock().expect("report").sent += 1;
                progress.delivered(r.email);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                progress.failed(r.email, &msg);
                shared
                    .report
                    .lock()
                    .expect("report")
                    .failed
                    .push((r.email.to_string(), msg));
            }
        }
    }
}

fn smtp_worker(
    shared: &Shared<'_>,
    factory: &MessageFactory<'_>,
    settings: &SmtpSettings,
    journal: Option<&JournalWriter>,
    opts: &Options,
    progress: &dyn Progress,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let mut conn: Option<SmtpConnection> = None;
        let mut last_sent_seq = 0u64;
        while let Some(r) = shared.take() {
            let wait = shared.bucket.reserve();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let built = match factory.build(*r) {
                Ok(b) => b,
                Err(e) => {
                    fail(shared, journal, progress, r.email, format!("{e:#}"));
                    continue;
                }
            };
            let key = r.email.to_ascii_lowercase();
            if let Some(j) = journal {
                if j.stopped() {
                    // Sending on without a journal would lose the record of who has the issue.
                    shared.abort("the journal stopped writing (see the error below)".into());
                    shared.report.lock().expect("report").not_attempted += 1;
                    break;
                }
                j.record(Event::Claimed { email: key.clone() });
            }
            // The previous message's `sent` must be durable before this one
            // can be accepted: at most one unrecorded delivery per connection.
            // The wait runs after DATA's 354 and before the content, so the
            // commit overlaps building this message and its envelope round trips.
            let previous_committed = || {
                if let Some(j) = journal {
                    j.wait_committed(last_sent_seq);
                }
            };
            match deliver(shared, &mut conn, settings, &built, opts, &previous_committed).await {
                Ok(()) => {
                    shared.consecutive_transient.store(0, Ordering::Relaxed);
                    if let Some(j) = journal {
                        last_sent_seq = j.record(Event::Sent { email: key });
                    }
                    shared.report.lock().expect("report").sent += 1;
                    progress.delivered(r.email);
                }
                Err(Outcome::Failed(e)) => {
                    if e.mailbox_unknown() {
                        if let Some(j) = journal {
                            j.record(Event::Bounced {
                                email: key,
                                reason: format!("smtp: {e}"),
                            });
                        }
                    }
                    fail(shared, journal, progress, r.email, e.to_string());
                }
                Err(Outcome::Stopped) => {
                    if let Some(j) = journal {
                        j.record(Event::Released { email: key });
                    }
                    shared.report.lock().expect("report").not_attempted += 1;
                    break;
                }
            }
        }
        if let Some(c) = conn {
            c.quit().await;
        }
        if let Some(j) = journal {
            j.wait_committed(last_sent_seq);
        }
    });
}

fn fail(shared: &Shared<'_>, journal: Option<&JournalWriter>, progress: &dyn Progress, email: &str, error: String) {
    if let Some(j) = journal {
        j.record(Event::Failed {
            email: email.to_ascii_lowercase(),
            error: error.clone(),
        });
    }
    progress.failed(email, &error);
    shared
        .report
        .lock()
        .expect("report")
        .failed
        .push((email.to_string(), error));
}

enum Outcome {
    /// The recipient failed for good (permanent, or retries ran out).
    Failed(SmtpError),
    /// The run is stopping (aborted or interrupted) before this one was delivered.
    Stopped,
}

/// One message with retries: a fresh connection after any error, exponential backoff.
async fn deliver(
    shared: &Shared<'_>,
    conn: &mut Option<SmtpConnection>,
    settings: &SmtpSettings,
    built: &Built,
    opts: &Options,
    before_content: &(dyn Fn() + Sync),
) -> Result<(), Outcome> {
    let mut attempt = 0u32;
    loop {
        if conn.is_none() {
            match SmtpConnection::connect(settings).await {
                Ok(c) => *conn = Some(c),
                Err(e) if e.is_fatal_for_run() => {
                    shared.abort(format!("{e}"));
                    return Err(Outcome::Stopped);
                }
                Err(e) => {
                    attempt += 1;
                    retry_wait(shared, attempt, opts, e).await?;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected");
        match c.send_after(&built.envelope, &built.bytes, before_content).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                // The connection's state is unknown after an error: start afresh.
                if let Some(c) = conn.take() {
                    if !e.is_transient() {
                        c.quit().await;
                    }
                }
                if e.is_fatal_for_run() {
                    shared.abort(format!("{e}"));
                    return Err(Outcome::Stopped);
                }
                if !e.is_transient() {
                    return Err(Outcome::Failed(e));
                }
                attempt += 1;
                retry_wait(shared, attempt, opts, e).await?;
            }
        }
    }
}

/// Counts a transient failure and waits before the next attempt; an error
/// when retries ran out or the run must stop.
async fn retry_wait(shared: &Shared<'_>, attempt: u32, opts: &Options, e: SmtpError) -> Result<(), Outcome> {
    let run = shared.consecutive_transient.fetch_add(1, Ordering::Relaxed) + 1;
    if run > shared.max_consecutive_transient {
        shared.abort(format!(
            "{run} transient failures in a row, the last: {e}; check the server, then re-run to resume"
        ));
        return Err(Outcome::Stopped);
    }
    if attempt > opts.retries {
        return Err(Outcome::Failed(e));
    }
    let delay = opts.retry_base * 2u32.saturating_pow(attempt - 1);
    crate::output::debug(&format!("transient failure ({e}); retry {attempt} in {delay:?}"));
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if shared.stop.load(Ordering::Relaxed) || shared.cancel.load(Ordering::Relaxed) {
            return Err(Outcome::Stopped);
        }
        tokio::time::sleep(Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    Ok(())
}
