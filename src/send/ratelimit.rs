//! A token bucket shared by every connection: `rate_per_second` for the whole run.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TokenBucket {
    /// Tokens per second; 0 = unlimited.
    rate: f64,
    capacity: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64) -> Self {
        // A burst of one second's worth (at least one message) keeps the
        // average exact without letting a pause turn into a flood.
        let capacity = rate.max(1.0);
        TokenBucket {
            rate,
            capacity,
            state: Mutex::new((1.0, Instant::now())),
        }
    }

    /// How long to wait before one message may go; the token is taken.
    pub fn reserve(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let mut s = self.state.lock().expect("token bucket");
        let now = Instant::now();
        let (tokens, last) = *s;
        let tokens = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate).min(self.capacity) - 1.0;
        *s = (tokens, now);
        if tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-tokens / self.rate)
        }
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
        let waits: Vec<Duration> = (0..5).map(|_| b.reserve()).collect();
        // The first token is there; later ones are 100 ms apart.
        assert!(waits[0].is_zero());
        for (i, w) in waits.iter().enumerate().skip(1) {
            let expect = 0.1 * i as f64;
            assert!((w.as_secs_f64() - expect).abs() < 0.02, "wait {i}: {w:?}");
        }
    }
}
