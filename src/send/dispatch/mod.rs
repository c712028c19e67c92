//! The dispatcher: worker threads that each keep one connection of a
//! [`Sink`] open and reuse it, a shared rate limit, retries with backoff, an
//! abort rule for a sick server, and journal events in the order that bounds
//! duplicates after a crash. One worker loop serves every sink (SMTP, dry-run
//! files, the test stub) and every journal (the SQLite writer or none).
//!
//! Each worker is an OS thread with a small single-threaded tokio runtime for
//! lettre's async client; threads borrow the message builder through a scope,
//! so nothing per issue is copied per recipient.
//!
//! Recipients arrive as a stream ([`Jobs`]), read from the list while the run
//! goes on, so memory does not grow with the list. Each worker takes one
//! recipient ahead and builds its message before handing over the current
//! one, so a pipelining sink can send the next envelope with this content.

use super::breaker::{Breaker, Decision};
use super::ratelimit::TokenBucket;
use crate::message::{Built, Compose, Recipient};
use crate::state::writer::{Event, Journal, Slot};
use crate::transport::smtp::SmtpError;
use crate::transport::Sink;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a run stops when its journal can no longer record (the writer's own
/// error follows it).
const JOURNAL_STOPPED: &str = "the journal stopped writing (see the error below)";

/// One recipient to deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// As written in the list (validated).
    pub email: String,
    pub name: Option<String>,
    /// The subscriber's other columns, for personal fields.
    pub attributes: Vec<(Arc<str>, String)>,
    /// Where the journal records this delivery.
    pub slot: Slot,
}

impl Job {
    pub fn recipient(&self) -> Recipient<'_> {
        Recipient {
            email: &self.email,
            name: self.name.as_deref(),
            attributes: &self.attributes,
        }
    }
}

/// The recipients of a run, as a stream the workers share, and how many it
/// will yield (for progress and the "not attempted" count).
pub struct Jobs<'a> {
    iter: Mutex<Box<dyn Iterator<Item = Job> + Send + 'a>>,
    total: usize,
}

impl<'a> Jobs<'a> {
    pub fn new(iter: impl Iterator<Item = Job> + Send + 'a, total: usize) -> Self {
        Jobs {
            iter: Mutex::new(Box::new(iter)),
            total,
        }
    }

    /// A run over recipients already in memory (a test copy, tests).
    pub fn from_vec(jobs: Vec<Job>) -> Jobs<'static> {
        let total = jobs.len();
        Jobs::new(jobs.into_iter(), total)
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

/// How the dispatcher runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub concurrency: usize,
    /// Messages per second for the whole run; 0 = unlimited.
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
    /// Recipients whose connection broke after their message was sent and
    /// before the server answered: it may have arrived, and it was sent again.
    pub maybe_duplicated: Vec<String>,
    /// Why the run stopped early: unreachable server, refused authentication, the
    /// server refusing the sender (see `breaker`), too many transient failures.
    pub aborted: Option<String>,
    /// Addresses added to the suppression list (the server said the mailbox does not exist).
    pub suppressed: usize,
    /// 421/454 replies: the server asked to slow down.
    pub throttled: usize,
    /// The lowest rate the run went down to after such replies (messages per second).
    pub slowed_to: Option<f64>,
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// Progress callbacks, so the command decides between a bar and log lines.
pub trait Progress: Sync {
    fn delivered(&self, email: &str);
    fn failed(&self, email: &str, error: &str);
    /// The message may have arrived although the connection broke; it is retried.
    fn uncertain(&self, email: &str, error: &str);
}

/// What one run shares between its workers.
struct Shared<'a, 'j> {
    /// Recipients taken from the stream so far.
    taken: AtomicUsize,
    jobs: &'a Jobs<'j>,
    /// The slots of recipients whose refusal the breaker holds back.
    held: Mutex<HashMap<String, Slot>>,
    stop: AtomicBool,
    cancel: &'a AtomicBool,
    consecutive_transient: AtomicUsize,
    max_consecutive_transient: usize,
    breaker: Breaker,
    bucket: TokenBucket,
    report: Mutex<Report>,
    journal: &'a dyn Journal,
    progress: &'a dyn Progress,
    opts: &'a Options,
}

impl Shared<'_, '_> {
    fn take(&self) -> Option<Job> {
        if self.stopping() {
            return None;
        }
        let job = self.jobs.iter.lock().expect("jobs").next()?;
        self.taken.fetch_add(1, Ordering::Relaxed);
        Some(job)
    }

    /// The next recipient whose message could be built; build failures are
    /// recorded as failed recipients.
    fn next_message(&self, compose: &dyn Compose) -> Option<(Job, Built)> {
        loop {
            let job = self.take()?;
            match compose.build(job.recipient()) {
                Ok(built) => return Some((job, built)),
                Err(e) => self.fail(&job.email, job.slot, format!("{e:#}"), false),
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed)
    }

    fn abort(&self, why: String) {
        let mut r = self.report.lock().expect("report");
        if r.aborted.is_none() {
            r.aborted = Some(why);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    fn report(&self) -> std::sync::MutexGuard<'_, Report> {
        self.report.lock().expect("report")
    }

    /// A delivery failed for good; the breaker decides whether that is the
    /// recipient's failure or the sender's (then the run stops).
    fn refused(&self, job: &Job, e: SmtpError) {
        self.held.lock().expect("held").insert(job.email.clone(), job.slot);
        let d = self.breaker.failure(&job.email, e);
        self.settle(d);
    }

    /// The slot of a recipient the breaker held or gives back.
    fn slot_of(&self, email: &str) -> Slot {
        self.held.lock().expect("held").remove(email).unwrap_or_default()
    }

    fn settle(&self, d: Decision) {
        for (email, e) in d.record {
            self.record_failure(&email, e);
        }
        for email in d.release {
            self.journal.record(Event::Released {
                slot: self.slot_of(&email),
            });
            self.report().not_attempted += 1;
        }
        if let Some(why) = d.trip {
            self.abort(why);
        }
    }

    /// A recipient's own failure: a permanent refusal is also recorded as a
    /// bounce (read with the bounce rules; the thresholds decide after the run).
    fn record_failure(&self, email: &str, e: SmtpError) {
        if let Some(bounced) = super::bounced::event(&e, crate::address::key(email)) {
            self.journal.record(bounced);
        }
        self.fail(email, self.slot_of(email), e.to_string(), e.is_transient());
    }

    fn fail(&self, email: &str, slot: Slot, error: String, transient: bool) {
        self.journal.record(Event::Failed {
            slot,
            email: crate::address::key(email),
            error: error.clone(),
            transient,
        });
        self.progress.failed(email, &error);
        self.report().failed.push((email.to_string(), error));
    }
}

/// Delivers one message per recipient through `sink`.
pub fn run<S: Sink>(
    sink: &S,
    compose: &dyn Compose,
    jobs: &Jobs<'_>,
    journal: &dyn Journal,
    opts: &Options,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Report {
    let start = Instant::now();
    let workers = opts.concurrency.max(1).min(jobs.total.max(1));
    let shared = Shared {
        taken: AtomicUsize::new(0),
        jobs,
        held: Mutex::new(HashMap::new()),
        stop: AtomicBool::new(false),
        cancel,
        consecutive_transient: AtomicUsize::new(0),
        max_consecutive_transient: (3 * workers).max(10),
        breaker: Breaker::new(jobs.total),
        bucket: TokenBucket::new(opts.rate_per_second),
        report: Mutex::new(Report::default()),
        journal,
        progress,
        opts,
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            let shared = &shared;
            s.spawn(move || worker(shared, sink, compose));
        }
    });
    // Refusals still held back when the run ended were ordinary failures.
    for (email, e) in shared.breaker.finish() {
        shared.record_failure(&email, e);
    }
    let mut report = shared.report.into_inner().expect("report");
    let taken = shared.taken.load(Ordering::Relaxed);
    report.not_attempted += jobs.total.saturating_sub(taken);
    report.interrupted = cancel.load(Ordering::Relaxed);
    report.elapsed = start.elapsed();
    report
}

/// One worker: takes recipients until none are left or the run stops.
fn worker<S: Sink>(shared: &Shared<'_, '_>, sink: &S, compose: &dyn Compose) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return shared.abort(format!("cannot start a worker: {e}")),
    };
    rt.block_on(async {
        let mut conn: Option<S::Conn> = None;
        let mut last_sent_seq = 0u64;
        let mut current = shared.next_message(compose);
        while let Some((job, built)) = current.take() {
            if shared.stopping() {
                // Taken ahead and never claimed.
                shared.report().not_attempted += 1;
                break;
            }
            let wait = shared.bucket.reserve();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if shared.journal.stopped() {
                // Sending on without a journal would lose the record of who has the issue.
                shared.abort(JOURNAL_STOPPED.into());
                shared.report().not_attempted += 1;
                break;
            }
            shared.journal.record(Event::Claimed { slot: job.slot });
            // The next message is built before this one's content goes out,
            // so a pipelining sink can announce it in the same write.
            let ahead = shared.next_message(compose);
            let next = ahead.as_ref().map(|(_, b)| outgoing(b));
            match deliver(shared, sink, &mut conn, &built, next, &job.email, last_sent_seq).await {
                Ok(()) => {
                    shared.consecutive_transient.store(0, Ordering::Relaxed);
                    shared.bucket.accepted();
                    last_sent_seq = shared.journal.record(Event::Sent { slot: job.slot });
                    shared.report().sent += 1;
                    shared.progress.delivered(&job.email);
                    for (email, e) in shared.breaker.success() {
                        shared.record_failure(&email, e);
                    }
                }
                Err(Outcome::Failed(e)) => shared.refused(&job, e),
                Err(Outcome::Stopped) => {
                    shared.journal.record(Event::Released { slot: job.slot });
                    shared.report().not_attempted += 1 + usize::from(ahead.is_some());
                    break;
                }
            }
            current = ahead;
        }
        if let Some(c) = conn {
            sink.quit(c).await;
        }
        shared.journal.wait_committed(last_sent_seq);
    });
}

mod deliver;

use deliver::{deliver, outgoing, Outcome};

#[cfg(test)]
mod tests;
