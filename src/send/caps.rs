//! Volume caps (`[smtp] max_per_hour`, `max_per_day`): how many messages a
//! run may send now, given how many the journal says went out in each
//! window (over every run and issue), and when a reached cap lets the next
//! one go. Pure: the counts and times come from the journal at the edge.

use crate::config::Smtp;
use chrono::{DateTime, Duration, Utc};

/// One cap: at most `limit` messages in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// The config key, for messages.
    pub key: &'static str,
    pub limit: u64,
    pub window: Duration,
}

/// The caps `[smtp]` sets.
pub fn caps(smtp: &Smtp) -> Vec<Cap> {
    let hour = smtp.max_per_hour.map(|limit| Cap {
        key: "max_per_hour",
        limit,
        window: Duration::hours(1),
    });
    let day = smtp.max_per_day.map(|limit| Cap {
        key: "max_per_day",
        limit,
        window: Duration::days(1),
    });
    hour.into_iter().chain(day).collect()
}

/// A cap and the messages sent within its window up to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub cap: Cap,
    pub used: u64,
}

impl Usage {
    pub fn left(&self) -> u64 {
        self.cap.limit.saturating_sub(self.used)
    }

    /// Which of the sends in the window (0 = the oldest) must leave it
    /// before one more message may go; None while the cap is not reached.
    pub fn must_leave(&self) -> Option<u64> {
        (self.used >= self.cap.limit).then(|| self.used - self.cap.limit)
    }
}

/// How many messages may go now: None without caps.
pub fn budget(usage: &[Usage]) -> Option<u64> {
    usage.iter().map(Usage::left).min()
}

/// When the next message may go, given for each reached cap the time of
/// the send that must leave its window ([`Usage::must_leave`]).
pub fn resume_at(reached: &[(Usage, DateTime<Utc>)]) -> Option<DateTime<Utc>> {
    reached.iter().map(|(u, sent_at)| *sent_at + u.cap.window).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(hour: Option<u64>, day: Option<u64>) -> Smtp {
        Smtp {
            max_per_hour: hour,
            max_per_day: day,
            ..Smtp::default()
        }
    }

    #[test]
    fn the_tighter_cap_decides() {
        assert!(caps(&smtp(None, None)).is_empty());
        assert_eq!(budget(&[]), None, "no caps: no limit");
        let c = caps(&smtp(Some(300), Some(2000)));
        let usage = [Usage { cap: c[0], used: 120 }, Usage { cap: c[1], used: 1900 }];
        assert_eq!(budget(&usage), Some(100), "the day has 100 left, the hour 180");
        let usage = [Usage { cap: c[0], used: 301 }, Usage { cap: c[1], used: 301 }];
        assert_eq!(budget(&usage), Some(0));
        assert_eq!(usage[0].must_leave(), Some(1), "the second oldest must leave the hour");
        assert_eq!(usage[1].must_leave(), None);
    }

    #[test]
    fn a_reached_cap_resumes_when_its_oldest_send_leaves_the_window() {
        let c = caps(&smtp(Some(200), Some(200)));
        let t: DateTime<Utc> = "2026-11-23T09:30:00Z".parse().unwrap();
        let hour = (Usage { cap: c[0], used: 200 }, t);
        let day = (Usage { cap: c[1], used: 200 }, t - Duration::hours(2));
        assert_eq!(resume_at(&[hour]), Some("2026-11-23T10:30:00Z".parse().unwrap()));
        assert_eq!(
            resume_at(&[hour, day]),
            Some("2026-11-24T07:30:00Z".parse().unwrap()),
            "the later of the two"
        );
    }
}
