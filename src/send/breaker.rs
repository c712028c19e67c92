//! The sender circuit breaker. When the server refuses the sender rather
//! than a recipient (MAIL FROM rejected, 530 authentication required, the
//! same 5.7.x policy answer for every recipient so far), the run is a
//! misconfiguration, not a list of failed recipients: it stops with exit 3,
//! everyone stays pending and the issue is not marked finished.
//!
//! Until the first delivery succeeds, refusals that look like the sender's
//! are held back instead of recorded: [`THRESHOLD`] identical ones in a row
//! trip the breaker and the held recipients are released; a success or a
//! different answer lets them through as ordinary failures.

use crate::transport::smtp::{SmtpError, Stage};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Identical sender-like refusals in a row, before any success, that stop a run.
pub const THRESHOLD: usize = 5;

/// What the dispatcher does after a failure: record some recipients as
/// failed, release some (back to pending), and maybe stop the run. All
/// empty: the failure is held back for now.
#[derive(Debug, Default)]
pub struct Decision {
    pub record: Vec<(String, SmtpError)>,
    pub release: Vec<String>,
    /// Set when the breaker trips: why the run stops.
    pub trip: Option<String>,
}

/// Which refusals count as the same: the dialogue stage, the code and the enhanced status.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature {
    stage: Stage,
    code: Option<u16>,
    enhanced: Option<String>,
}

impl Signature {
    fn of(e: &SmtpError) -> Self {
        Signature {
            stage: e.stage,
            code: e.code(),
            enhanced: e.enhanced_status().map(str::to_string),
        }
    }
}

#[derive(Default)]
struct State {
    /// The first delivery succeeded: the sender is accepted, the breaker is off.
    disarmed: bool,
    /// The refusal that tripped it and why: every later decision carries the why.
    tripped: Option<(Signature, String)>,
    streak: Option<Signature>,
    held: Vec<(String, SmtpError)>,
}

/// One run's breaker, shared by the workers.
pub struct Breaker {
    state: Mutex<State>,
    /// `State::disarmed`, readable without the lock on every success.
    disarmed: AtomicBool,
    threshold: usize,
}

impl Breaker {
    /// For a run of `recipients`: a list shorter than [`THRESHOLD`] trips
    /// when every recipient got the same refusal.
    pub fn new(recipients: usize) -> Self {
        Breaker {
            state: Mutex::new(State::default()),
            disarmed: AtomicBool::new(false),
            threshold: THRESHOLD.min(recipients).max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A delivery succeeded: held refusals were about their recipients after all.
    pub fn success(&self) -> Vec<(String, SmtpError)> {
        if self.disarmed.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let mut s = self.lock();
        s.disarmed = true;
        self.disarmed.store(true, Ordering::Relaxed);
        s.streak = None;
        std::mem::take(&mut s.held)
    }

    /// A recipient failed for good with `e`.
    pub fn failure(&self, email: &str, e: SmtpError) -> Decision {
        let mut s = self.lock();
        let mut d = Decision::default();
        let sig = Signature::of(&e);
        if let Some((tripped, why)) = &s.tripped {
            // The worker that tripped sets the stop flag only after this lock
            // is released; a worker refused in between stops on this reason
            // instead of taking another recipient.
            d.trip = Some(why.clone());
            if *tripped == sig {
                d.release.push(email.to_string());
            } else {
                d.record.push((email.to_string(), e));
            }
            return d;
        }
        if s.disarmed || !sender_like(&e) {
            d.record.push((email.to_string(), e));
            return d;
        }
        if s.streak.as_ref() != Some(&sig) {
            // A different answer: the refusals held so far were about their recipients.
            d.record = std::mem::take(&mut s.held);
            s.streak = Some(sig.clone());
        }
        s.held.push((email.to_string(), e));
        if refused_outright(&s.held[0].1) || s.held.len() >= self.threshold {
            let held = std::mem::take(&mut s.held);
            let why = reason(&held);
            d.release = held.into_iter().map(|(email, _)| email).collect();
            d.trip = Some(why.clone());
            s.tripped = Some((sig, why));
            s.streak = None;
        }
        d
    }

    /// Refusals an interrupted or finished run still holds: ordinary failures.
    pub fn finish(&self) -> Vec<(String, SmtpError)> {
        std::mem::take(&mut self.lock().held)
    }
}

/// A refusal that may be about the sender rather than the recipient: any
/// 5xx to MAIL FROM, 530 (authentication required), a 5.7.x security or
/// policy status, or a bare reply that talks about relaying or authentication.
fn sender_like(e: &SmtpError) -> bool {
    let Some(code) = e.code().filter(|c| (500..600).contains(c)) else {
        return false;
    };
    if e.stage == Stage::Mail || code == 530 {
        return true;
    }
    match e.enhanced_status() {
        Some(status) => status.starts_with("5.7."),
        None => {
            let text = e.to_string().to_ascii_lowercase();
            text.contains("relay") || text.contains("authentica")
        }
    }
}

/// One of these is enough: the server refused the sender itself.
fn refused_outright(e: &SmtpError) -> bool {
    e.stage == Stage::Mail || e.code() == Some(530)
}

/// The abort message: what the server said and what to change.
fn reason(held: &[(String, SmtpError)]) -> String {
    let (_, e) = held.last().expect("a trip holds at least one refusal");
    let what = if held.len() == 1 {
        format!("the server refused the sender ({e})")
    } else {
        format!(
            "the server refused the sender, not the recipients: {} recipients in a row got the same answer (the last: {e})",
            held.len()
        )
    };
    format!(
        "{what}; nobody was marked failed, everyone is still pending. hint: {}",
        hint(e)
    )
}

fn hint(e: &SmtpError) -> &'static str {
    let text = e.to_string().to_ascii_lowercase();
    if e.code() == Some(530) || e.enhanced_status() == Some("5.7.0") || text.contains("authentica") {
        "the server requires authentication: set [smtp] username and password_env"
    } else if e.stage == Stage::Mail {
        "check [newsletter] bounce_address (the envelope sender, default: from) and that this server may send for its domain"
    } else if matches!(e.stage, Stage::Data | Stage::Message) {
        "the server refused the message by policy: check the sending domain's SPF, DKIM and DMARC records and [dkim]"
    } else {
        "the server does not relay for this sender: set [smtp] username and password_env, or use the server your provider gives for sending"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::stub::reply;

    fn held(d: &Decision) -> bool {
        d.record.is_empty() && d.release.is_empty() && d.trip.is_none()
    }

    #[test]
    fn what_looks_like_the_sender() {
        assert!(sender_like(&reply(Stage::Mail, 553, "5.1.8 sender address rejected")));
        assert!(sender_like(&reply(Stage::Rcpt, 530, "5.7.0 Authentication required")));
        assert!(sender_like(&reply(Stage::Rcpt, 554, "5.7.1 Relay access denied")));
        assert!(sender_like(&reply(Stage::Rcpt, 550, "relay not permitted")));
        assert!(sender_like(&reply(Stage::Data, 550, "5.7.26 unauthenticated mail")));
        assert!(!sender_like(&reply(Stage::Rcpt, 550, "5.1.1 no such user")));
        assert!(!sender_like(&reply(Stage::Rcpt, 552, "5.2.2 mailbox full")));
        assert!(!sender_like(&reply(Stage::Rcpt, 550, "mailbox unavailable")));
        assert!(!sender_like(&reply(Stage::Rcpt, 451, "4.7.1 try later")));
    }

    #[test]
    fn a_success_turns_held_refusals_into_failures() {
        let b = Breaker::new(100);
        let denied = || reply(Stage::Rcpt, 554, "5.7.1 denied");
        for i in 0..THRESHOLD - 1 {
            assert!(held(&b.failure(&format!("r{i}@x"), denied())));
        }
        assert_eq!(b.success().len(), THRESHOLD - 1);
        assert_eq!(b.failure("late@x", denied()).record.len(), 1);
    }

    #[test]
    fn identical_refusals_trip_and_later_ones_are_released() {
        let b = Breaker::new(100);
        let denied = || reply(Stage::Rcpt, 554, "5.7.1 denied");
        let unknown = reply(Stage::Rcpt, 550, "5.1.1 no such user");
        assert_eq!(b.failure("gone@x", unknown).record.len(), 1);
        for i in 0..THRESHOLD - 1 {
            assert!(held(&b.failure(&format!("r{i}@x"), denied())));
        }
        let d = b.failure("r9@x", denied());
        assert_eq!((d.record.len(), d.release.len()), (0, THRESHOLD));
        let why = d.trip.expect("tripped");
        assert_eq!(
            why,
            "the server refused the sender, not the recipients: 5 recipients in a row got the same answer \
             (the last: SMTP RCPT TO: server replied 554 5.7.1 denied); nobody was marked failed, everyone is \
             still pending. hint: the server does not relay for this sender: set [smtp] username and \
             password_env, or use the server your provider gives for sending"
        );
        // Later refusals come back released, and with the reason, so their
        // workers stop even before the tripping worker has set the stop flag.
        let d = b.failure("r10@x", denied());
        assert_eq!((d.release, d.trip), (vec!["r10@x".to_string()], Some(why.clone())));
        let d = b.failure("other@x", reply(Stage::Rcpt, 550, "5.1.1 no such user"));
        assert_eq!((d.record.len(), d.trip), (1, Some(why)));
        assert!(b.finish().is_empty());
    }

    #[test]
    fn a_different_answer_ends_the_streak() {
        let b = Breaker::new(100);
        assert!(held(&b.failure("a@x", reply(Stage::Rcpt, 554, "5.7.1 denied"))));
        let d = b.failure("b@x", reply(Stage::Rcpt, 550, "5.7.26 dmarc"));
        assert_eq!(d.record.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(), ["a@x"]);
        assert_eq!(b.finish().len(), 1, "b@x is still held");
    }

    #[test]
    fn authentication_required_trips_at_once_and_short_lists_trip_when_all_fail() {
        let b = Breaker::new(100);
        let d = b.failure("a@x", reply(Stage::Mail, 530, "5.7.0 Authentication required"));
        assert_eq!(d.release, ["a@x"]);
        assert!(d
            .trip
            .unwrap()
            .ends_with("hint: the server requires authentication: set [smtp] username and password_env"));
        let b = Breaker::new(2);
        let denied = || reply(Stage::Rcpt, 554, "5.7.1 denied");
        assert!(held(&b.failure("a@x", denied())));
        assert!(b.failure("b@x", denied()).trip.is_some());
    }
}
