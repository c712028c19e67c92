//! One message to one recipient over a worker's connection: retries with
//! backoff on a fresh connection, the maybe-delivered policy, the slow-down
//! on a throttle reply, and the rule that content waits for the previous
//! `sent` mark to be committed.

use super::{Shared, JOURNAL_STOPPED};
use crate::message::Built;
use crate::transport::smtp::{Cause, SmtpError};
use crate::transport::{Outgoing, Sink};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub(super) fn outgoing(built: &Built) -> Outgoing<'_> {
    Outgoing {
        envelope: &built.envelope,
        bytes: &built.bytes,
    }
}

pub(super) enum Outcome {
    /// The recipient failed for good (permanent, or retries ran out).
    Failed(SmtpError),
    /// The run is stopping (aborted or interrupted) before this one was delivered.
    Stopped,
}

/// One message with retries: a fresh connection after any error, exponential
/// backoff. The content goes out only once `previous_sent` (this
/// connection's last `sent` mark) is committed: at most one accepted but
/// unrecorded message per connection, whenever the process dies.
pub(super) async fn deliver<S: Sink>(
    shared: &Shared<'_, '_>,
    sink: &S,
    conn: &mut Option<S::Conn>,
    built: &Built,
    next: Option<Outgoing<'_>>,
    email: &str,
    previous_sent: u64,
) -> Result<(), Outcome> {
    // The content waits for the previous message's record; if the journal
    // stopped instead, it is withheld (two unrecorded messages on one
    // connection would break the one-duplicate bound).
    let before_content = || {
        shared.journal.wait_committed(previous_sent);
        !shared.journal.stopped()
    };
    let mut attempt = 0u32;
    loop {
        let c = match conn {
            Some(c) => c,
            None => match sink.connect().await {
                Ok(c) => conn.insert(c),
                Err(e) if e.is_fatal_for_run() => {
                    shared.abort(e.to_string());
                    return Err(Outcome::Stopped);
                }
                Err(e) => {
                    attempt += 1;
                    retry_wait(shared, attempt, e).await?;
                    continue;
                }
            },
        };
        let Err(e) = sink.send(c, outgoing(built), next, &before_content).await else {
            return Ok(());
        };
        // The connection's state is unknown after an error: start afresh.
        if let Some(c) = conn.take() {
            if !e.is_transient() {
                sink.quit(c).await;
            }
        }
        if matches!(e.cause, Cause::Withheld) {
            // The journal stopped: the run ends, for the same reason the
            // worker loop gives when it sees the stop first.
            shared.abort(JOURNAL_STOPPED.into());
            return Err(Outcome::Stopped);
        }
        if e.is_fatal_for_run() {
            shared.abort(e.to_string());
            return Err(Outcome::Stopped);
        }
        if e.maybe_delivered() {
            // The policy for a message that may have arrived: send it again.
            // A rare second copy beats a reader who never gets the issue, and
            // it is what a re-run after a crash does with a claimed message.
            shared.progress.uncertain(email, &e.to_string());
            shared.report().maybe_duplicated.push(email.to_string());
        } else if !e.is_transient() {
            return Err(Outcome::Failed(e));
        }
        attempt += 1;
        retry_wait(shared, attempt, e).await?;
    }
}

/// Counts a transient failure and waits before the next attempt; an error
/// when retries ran out or the run must stop. A throttle reply (421, 454)
/// also lowers the rate shared by every connection, and a retry waits for
/// its turn under that rate like any other message.
async fn retry_wait(shared: &Shared<'_, '_>, attempt: u32, e: SmtpError) -> Result<(), Outcome> {
    if e.is_throttle() {
        let slowed = shared.bucket.slow_down();
        let mut r = shared.report();
        r.throttled += 1;
        if let Some(rate) = slowed {
            r.slowed_to = Some(r.slowed_to.map_or(rate, |s: f64| s.min(rate)));
            drop(r);
            crate::output::debug(&format!(
                "the server asked to slow down ({e}); rate lowered to {rate:.1}/s"
            ));
        }
    }
    let run = shared.consecutive_transient.fetch_add(1, Ordering::Relaxed) + 1;
    if run > shared.max_consecutive_transient {
        shared.abort(format!(
            "{run} transient failures in a row, the last: {e}; check the server, then re-run to resume"
        ));
        return Err(Outcome::Stopped);
    }
    if attempt > shared.opts.retries {
        return Err(Outcome::Failed(e));
    }
    let delay = shared.opts.retry_base * 2u32.saturating_pow(attempt - 1);
    crate::output::debug(&format!("transient failure ({e}); retry {attempt} in {delay:?}"));
    let deadline = Instant::now() + delay.max(shared.bucket.reserve());
    while Instant::now() < deadline {
        if shared.stopping() {
            return Err(Outcome::Stopped);
        }
        tokio::time::sleep(Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    Ok(())
}
