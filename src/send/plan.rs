//! `SendArgs` → one [`SendPlan`], built once before any work (as ripgrep
//! turns `LowArgs` into `HiArgs`): what to send, how (live, dry run or test
//! copy), to which share of the list, and with which dispatcher settings.
//! Building the plan reads nothing: the environment comes in as [`Env`].

use super::dispatch::Options;
use crate::cli::SendArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Environment knobs, read once at the edge.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `NEWSLETTER_DATE`: the clock, for reproducible output.
    pub date: Option<String>,
    /// `NEWSLETTER_RETRY_BASE_MS`: the first retry backoff.
    pub retry_base_ms: Option<String>,
    /// `NEWSLETTER_BENCH_WITHOUT_JOURNAL`: benchmarks only.
    pub without_journal: bool,
}

impl Env {
    pub fn from_process() -> Env {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Env {
            date: var("NEWSLETTER_DATE"),
            retry_base_ms: var("NEWSLETTER_RETRY_BASE_MS"),
            without_journal: std::env::var_os("NEWSLETTER_BENCH_WITHOUT_JOURNAL").is_some(),
        }
    }
}

/// Which issues the run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Issue(PathBuf),
    /// Every due issue (`--due`).
    Due,
}

/// How messages leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Over SMTP, journalled (unless benchmarking without the journal).
    Live { confirmed: bool, journal: bool },
    /// `.eml` files under `outbox/<issue-id>/`; no journal, no connection.
    DryRun { outbox: PathBuf },
    /// One `[TEST]` copy to `to`, not journalled; into `dir` with `--dry-run`.
    TestCopy { to: String, dir: Option<PathBuf> },
}

/// Shard K of N (K from 1): the recipients whose stable hash falls in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl Shard {
    /// `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    /// Whether `email` belongs to this shard: a stable hash of its address key.
    #[cfg(test)]
    pub fn contains(self, email: &str) -> bool {
        self.contains_id(crate::address::id(email))
    }

    /// [`contains`](Self::contains) for an address id ([`crate::address::id`]).
    pub fn contains_id(self, id: u64) -> bool {
        id % self.n == self.k - 1
    }
}

/// Everything a `send` run will do, decided up front.
#[derive(Debug, Clone)]
pub struct SendPlan {
    pub target: Target,
    pub mode: Mode,
    pub shard: Option<Shard>,
    pub limit: Option<usize>,
    pub dispatch: Options,
    /// How often a log line reports progress when there is no progress bar.
    pub log_every: Duration,
    /// The clock for Date headers and for what is due.
    pub now: SystemTime,
}

impl SendPlan {
    pub fn new(args: &SendArgs, cfg: &Config, env: &Env) -> anyhow::Result<SendPlan> {
        let invalid = |msg: String| Failure::new(Exit::Invalid, msg);
        let target = match (&args.issue, args.due) {
            (Some(p), false) => Target::Issue(p.clone()),
            (None, true) => Target::Due,
            _ => return Err(invalid("give an issue or --due".into())),
        };
        let outbox = args.outbox.clone().unwrap_or_else(|| cfg.paths.outbox.clone());
        let mode = match (&args.to, args.dry_run) {
            (Some(to), dry) => Mode::TestCopy {
                to: crate::address::parse(to)
                    .map_err(|e| invalid(format!("--to: {e}")))?
                    .to_string(),
                dir: dry.then(|| outbox.join("test")),
            },
            (None, true) => Mode::DryRun { outbox },
            (None, false) => Mode::Live {
                confirmed: args.yes,
                journal: !env.without_journal,
            },
        };
        let live = matches!(mode, Mode::Live { .. });
        let dispatch = Options {
            concurrency: args.concurrency.unwrap_or(cfg.smtp.concurrency).max(1),
            // Files need no rate limit; a test copy is one message.
            rate_per_second: if live {
                args.rate.unwrap_or(cfg.smtp.rate_per_second)
            } else {
                0.0
            },
            retries: cfg.smtp.retries,
            retry_base: Duration::from_millis(retry_base_ms(env)?),
        };
        if !(dispatch.rate_per_second.is_finite() && dispatch.rate_per_second >= 0.0) {
            return Err(invalid("--rate: must be 0 (unlimited) or positive".into()));
        }
        Ok(SendPlan {
            target,
            mode,
            shard: args.shard.as_deref().map(Shard::parse).transpose().map_err(invalid)?,
            limit: args.limit,
            dispatch,
            log_every: if live { Duration::from_secs(5) } else { Duration::ZERO },
            now: clock(env)?,
        })
    }
}

fn retry_base_ms(env: &Env) -> anyhow::Result<u64> {
    match &env.retry_base_ms {
        None => Ok(1000),
        Some(s) => s.parse().map_err(|_| {
            Failure::new(
                Exit::Invalid,
                format!("NEWSLETTER_RETRY_BASE_MS={s}: not a number of milliseconds"),
            )
        }),
    }
}

/// `NEWSLETTER_DATE` (RFC 3339) when set, else now.
pub fn clock(env: &Env) -> anyhow::Result<SystemTime> {
    match &env.date {
        Some(s) => {
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|e| Failure::new(Exit::Invalid, format!("NEWSLETTER_DATE={s}: {e}")))?;
            Ok(SystemTime::from(t))
        }
        None => Ok(SystemTime::now()),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
