//! Send progress: an indicatif bar with rate and ETA on a terminal, plain
//! timestamped log lines on stderr otherwise (cron, pipes).

use crate::output;
use crate::send::dispatch::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Display {
    bar: Option<ProgressBar>,
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    start: Instant,
    log_every: Duration,
    last_log: Mutex<Instant>,
}

impl Display {
    /// `log_every`: how often a log line is written when there is no bar (zero: never).
    pub fn new(total: u64, log_every: Duration) -> Self {
        let bar = (!output::quiet() && std::io::stderr().is_terminal() && total > 1).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} ETA {eta} {msg}").expect("valid template"),
            );
            b
        });
        Display {
            bar,
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            start: Instant::now(),
            log_every,
            last_log: Mutex::new(Instant::now()),
        }
    }

    fn tick(&self) {
        let done = self.done.load(Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_position(done);
            return;
        }
        if self.log_every.is_zero() {
            return;
        }
        let mut last = self.last_log.lock().expect("progress");
        if last.elapsed() >= self.log_every {
            *last = Instant::now();
            let secs = self.start.elapsed().as_secs_f64();
            output::log(&format!(
                "progress: {done}/{} done, {} failed, {:.0} msg/s",
                self.total,
                self.failed.load(Ordering::Relaxed),
                done as f64 / secs.max(1e-9)
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Display {
    fn delivered(&self, email: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if output::verbose() {
            // Formatted only when shown: this runs once per message.
            output::debug(&format!("delivered {email}"));
        }
        self.tick();
    }

    fn failed(&self, email: &str, error: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.failed.fetch_add(1, Ordering::Relaxed);
        match &self.bar {
            Some(b) => b.println(format!("{}: {email}: {error}", output::paint("31", "failed"))),
            None => output::log(&format!("failed {email}: {error}")),
        }
        self.tick();
    }

    fn uncertain(&self, email: &str, error: &str) {
        let msg = format!("{email}: {error}; the message may have arrived: sending it again");
        match &self.bar {
            Some(b) => b.println(format!("{}: {msg}", output::paint("33", "warning"))),
            None => output::warn(&msg),
        }
    }
}
