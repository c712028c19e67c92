//! The shared rate limit: one token bucket for every connection of a run
//! (`rate_per_second`), which adapts to the server. A 421 or 454 reply
//! ("try again later", throttling) halves the rate for everyone, not only
//! the connection that got it; each accepted message then raises it by 1 %
//! again, up to the configured rate (multiplicative decrease, slow
//! recovery, as TCP does with a congested link). With no configured limit,
//! the first throttle reply sets one at half the rate measured so far.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The slowest rate a throttled run goes down to (messages per second).
const MIN_RATE: f64 = 0.1;
/// Throttle replies closer together than this count once: the messages in
/// flight when the first came back were sent at the old rate.
const COOLDOWN: Duration = Duration::from_secs(1);
/// Each accepted message raises a lowered rate by this factor.
const RECOVERY: f64 = 1.01;

pub struct TokenBucket {
    state: Mutex<State>,
    /// Set once a throttle reply lowered the rate: until then an accepted
    /// message costs no lock.
    slowed: AtomicBool,
}

struct State {
    /// The configured rate; 0 = unlimited.
    configured: f64,
    /// The rate in force; 0 = unlimited.
    rate: f64,
    tokens: f64,
    last: Instant,
    /// When the rate was last lowered.
    slowed_at: Option<Instant>,
    /// Reservations since `since`, to measure an unlimited run's rate.
    count: u64,
    since: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64) -> Self {
        let now = Instant::now();
        TokenBucket {
            state: Mutex::new(State {
                configured: rate,
                rate,
                tokens: 1.0,
                last: now,
                slowed_at: None,
                count: 0,
                since: now,
            }),
            slowed: AtomicBool::new(false),
        }
    }

    /// How long to wait before one message may go; the token is taken.
    pub fn reserve(&self) -> Duration {
        self.reserve_at(Instant::now())
    }

    pub fn reserve_at(&self, now: Instant) -> Duration {
        let mut s = self.state.lock().expect("token bucket");
        s.count += 1;
        if s.rate <= 0.0 {
            return Duration::ZERO;
        }
        // A burst of one second's worth (at least one message) keeps the
        // average exact without letting a pause turn into a flood.
        let capacity = s.rate.max(1.0);
        let tokens = (s.tokens + now.saturating_duration_since(s.last).as_secs_f64() * s.rate).min(capacity) - 1.0;
        s.tokens = tokens;
        s.last = now;
        if tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-tokens / s.rate)
        }
    }

    /// The server asked to slow down: halve the rate (once per cooldown).
    /// Returns the new rate when it changed.
    pub fn slow_down(&self) -> Option<f64> {
        self.slow_down_at(Instant::now())
    }

    pub fn slow_down_at(&self, now: Instant) -> Option<f64> {
        let mut s = self.state.lock().expect("token bucket");
        if s.slowed_at.is_some_and(|t| now.saturating_duration_since(t) < COOLDOWN) {
            return None;
        }
        let current = if s.rate > 0.0 {
            s.rate
        } else {
            // Unlimited so far: start from what the run has actually done.
            let secs = now.saturating_duration_since(s.since).as_secs_f64().max(0.001);
            (s.count as f64 / secs).max(MIN_RATE * 2.0)
        };
        s.rate = (current / 2.0).max(MIN_RATE);
        // No burst right after a throttle reply.
        s.tokens = s.tokens.min(0.0);
        s.last = now;
        s.slowed_at = Some(now);
        self.slowed.store(true, Ordering::Relaxed);
        Some(s.rate)
    }

    /// A message was accepted: a lowered rate recovers a little.
    pub fn accepted(&self) {
        if !self.slowed.load(Ordering::Relaxed) {
            return;
        }
        let mut s = self.state.lock().expect("token bucket");
        if s.slowed_at.is_none() || s.rate <= 0.0 {
            return;
        }
        let raised = s.rate * RECOVERY;
        s.rate = if s.configured > 0.0 {
            raised.min(s.configured)
        } else {
            raised
        };
    }

    /// The rate in force (0 = unlimited).
    #[cfg(test)]
    pub fn rate(&self) -> f64 {
        self.state.lock().expect("token bucket").rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let b = TokenBucket::new(0.0);
        assert!((0..1000).all(|_| b.reserve().is_zero()));
    }

    #[test]
    fn waits_grow_by_one_interval_per_message() {
        let b = TokenBucket::new(10.0);
        let t0 = b.state.lock().unwrap().last;
        let waits: Vec<Duration> = (0..5).map(|_| b.reserve_at(t0)).collect();
        // The first token is there; later ones are 100 ms apart.
        assert!(waits[0].is_zero());
        for (i, w) in waits.iter().enumerate().skip(1) {
            let expect = 0.1 * i as f64;
            assert!((w.as_secs_f64() - expect).abs() < 1e-9, "wait {i}: {w:?}");
        }
    }

    #[test]
    fn a_throttle_halves_the_rate_once_per_cooldown_and_acceptance_restores_it() {
        let b = TokenBucket::new(8.0);
        let t0 = b.state.lock().unwrap().last;
        assert_eq!(b.slow_down_at(t0), Some(4.0));
        // Replies of messages already in flight count once.
        assert_eq!(b.slow_down_at(t0 + Duration::from_millis(999)), None);
        assert_eq!(b.slow_down_at(t0 + COOLDOWN), Some(2.0));
        // The next message waits a whole interval at the new rate: no burst.
        assert_eq!(b.reserve_at(t0 + COOLDOWN), Duration::from_millis(500));
        for _ in 0..1000 {
            b.accepted();
        }
        assert_eq!(b.rate(), 8.0, "recovers up to the configured rate, never above");
        let mut t = t0 + COOLDOWN;
        for _ in 0..20 {
            t += COOLDOWN;
            b.slow_down_at(t);
        }
        assert_eq!(b.rate(), MIN_RATE, "never below the floor");
    }

    #[test]
    fn an_unlimited_run_gets_half_its_measured_rate() {
        let b = TokenBucket::new(0.0);
        let t0 = Instant::now();
        for _ in 0..100 {
            b.reserve_at(t0);
        }
        let started = b.state.lock().unwrap().since;
        let rate = b.slow_down_at(started + Duration::from_secs(10)).unwrap();
        assert_eq!(rate, 5.0, "100 messages in 10 s, halved");
        assert!(
            !b.reserve_at(started + Duration::from_secs(10)).is_zero(),
            "now limited"
        );
    }
}
