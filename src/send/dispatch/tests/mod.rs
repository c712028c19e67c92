//! The dispatcher's rules against the stub sink: reuse, retries, aborts,
//! the maybe-delivered policy, interruption, the journal ordering, and the
//! one-message lookahead a pipelining sink uses.

use super::*;
/// The no-op journal, under a local name so the interrupt test reads plainly.
use crate::state::writer::NoJournal as NoJournalStub;
use crate::transport::smtp::{Cause, Stage};
use crate::transport::stub::{reply, StubSink};
use lettre::address::Envelope;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

/// Builds a tiny message per recipient; fails for addresses starting "bad".
struct Plain;

impl Compose for Plain {
    fn build(&self, r: Recipient<'_>) -> anyhow::Result<Built> {
        anyhow::ensure!(!r.email.starts_with("bad"), "cannot build for {}", r.email);
        let to = r.email.parse()?;
        Ok(Built {
            envelope: Envelope::new(Some("list@example.com".parse()?), vec![to])?,
            message_id: format!("<{}>", r.email),
            bytes: format!("To: {}\r\n\r\nhi\r\n", r.email).into_bytes(),
        })
    }
}

/// Records every event; a `sent` mark counts as committed only once the
/// dispatcher has waited for it, so a missing wait shows. Slots are turned
/// back into addresses through the list the run was given.
#[derive(Default)]
struct ManualJournal {
    next: Mutex<u64>,
    committed: AtomicU64,
    events: Mutex<Vec<(u64, String)>>,
    sent_seq: Mutex<HashMap<String, u64>>,
    stop_after: Option<u64>,
    /// Recipients recorded as failed for a transient reason.
    transient: Mutex<Vec<String>>,
}

/// The test list's address of a slot: `emails(n)[seq]`.
fn email_of(slot: Slot) -> String {
    format!("r{:03}@example.org", slot.seq)
}

impl Journal for ManualJournal {
    fn record(&self, event: Event) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        let text = match &event {
            Event::Claimed { slot } => format!("claimed {}", email_of(*slot)),
            Event::Sent { slot } => {
                self.sent_seq.lock().unwrap().insert(email_of(*slot), *next);
                format!("sent {}", email_of(*slot))
            }
            Event::Failed { email, transient, .. } => {
                if *transient {
                    self.transient.lock().unwrap().push(email.clone());
                }
                format!("failed {email}")
            }
            Event::Released { slot } => format!("released {}", email_of(*slot)),
            Event::Bounced { email, class, .. } => format!("bounced {} {email}", class.as_str()),
        };
        self.events.lock().unwrap().push((*next, text));
        *next
    }
    fn wait_committed(&self, seq: u64) {
        self.committed.fetch_max(seq, Ordering::SeqCst);
    }
    fn stopped(&self) -> bool {
        self.stop_after.is_some_and(|n| *self.next.lock().unwrap() >= n)
    }
}

impl ManualJournal {
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().iter().map(|(_, e)| e.clone()).collect()
    }
}

#[derive(Default)]
struct Counts {
    delivered: AtomicUsize,
    uncertain: Mutex<Vec<String>>,
    cancel_after: Option<(usize, &'static AtomicBool)>,
}

impl Progress for Counts {
    fn delivered(&self, _: &str) {
        let n = self.delivered.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((after, flag)) = self.cancel_after {
            if n >= after {
                flag.store(true, Ordering::SeqCst);
            }
        }
    }
    fn failed(&self, _: &str, _: &str) {}
    fn uncertain(&self, email: &str, _: &str) {
        self.uncertain.lock().unwrap().push(email.to_string());
    }
}

fn opts(concurrency: usize, retries: u32) -> Options {
    Options {
        concurrency,
        rate_per_second: 0.0,
        retries,
        retry_base: Duration::from_millis(1),
    }
}

fn emails(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i:03}@example.org")).collect()
}

/// The run's recipients; slot `seq` is the position in the list.
fn jobs(emails: &[String]) -> Jobs<'static> {
    Jobs::from_vec(
        emails
            .iter()
            .enumerate()
            .map(|(i, e)| Job {
                email: e.clone(),
                name: None,
                attributes: Vec::new(),
                slot: Slot {
                    seq: i as u32,
                    rcpt: crate::address::id(e),
                },
            })
            .collect(),
    )
}

fn run_with(sink: &StubSink, list: &[String], journal: &dyn Journal, o: &Options) -> Report {
    run(
        sink,
        &Plain,
        &jobs(list),
        journal,
        o,
        &Counts::default(),
        &AtomicBool::new(false),
    )
}

#[test]
fn everyone_once_over_reused_connections() {
    let sink = StubSink::new();
    let list = emails(50);
    let report = run_with(&sink, &list, &ManualJournal::default(), &opts(2, 3));
    assert_eq!(report.sent, 50);
    let mut got = sink.delivered();
    got.sort();
    assert_eq!(got, list);
    // At most one connection per worker (a fast worker may take them all).
    assert!(
        sink.connections() <= 2,
        "{} connections for 50 messages",
        sink.connections()
    );
}

#[test]
fn a_transient_failure_is_retried_on_a_fresh_connection() {
    let list = emails(3);
    let sink = StubSink::new().replies(&list[1], vec![Err(reply(Stage::Rcpt, 451, "4.3.0 try later"))]);
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert_eq!((report.sent, report.failed.len()), (3, 0));
    let to_second: Vec<_> = sink.calls().into_iter().filter(|c| c.to == list[1]).collect();
    assert_eq!(to_second.len(), 2);
    assert_ne!(to_second[0].conn, to_second[1].conn, "reconnected after the error");
    assert_eq!(sink.connections(), 2);
}

#[test]
fn when_retries_run_out_only_that_recipient_fails() {
    let list = emails(3);
    let busy = || Err(reply(Stage::Rcpt, 450, "4.2.1 mailbox busy"));
    let sink = StubSink::new().replies(&list[1], vec![busy(), busy(), busy()]);
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 2));
    assert_eq!(report.sent, 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(
        report.failed[0],
        (
            list[1].clone(),
            "SMTP RCPT TO: server replied 450 4.2.1 mailbox busy".to_string()
        )
    );
    assert!(journal.events().contains(&format!("failed {}", list[1])));
    assert_eq!(
        *journal.transient.lock().unwrap(),
        [list[1].clone()],
        "send --due retries it later"
    );
}

#[test]
fn a_permanent_refusal_fails_one_recipient_and_is_read_as_a_bounce() {
    let list = emails(3);
    let sink = StubSink::new()
        .replies(&list[0], vec![Err(reply(Stage::Rcpt, 550, "5.1.1 no such user"))])
        .replies(&list[1], vec![Err(reply(Stage::Rcpt, 550, "5.7.1 blocked by policy"))]);
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert_eq!((report.sent, report.failed.len()), (1, 2));
    assert_eq!(sink.calls().len(), 3, "a permanent refusal is not retried");
    let events = journal.events();
    assert!(events.contains(&format!("bounced hard {}", list[0])), "{events:?}");
    // A policy block is about the sender: a soft bounce, never a suppression by itself.
    assert!(events.contains(&format!("bounced soft {}", list[1])), "{events:?}");
    assert!(
        journal.transient.lock().unwrap().is_empty(),
        "permanent failures are not retried by --due"
    );
}

#[test]
fn an_unreachable_server_aborts_and_releases_the_claim() {
    let refused = SmtpError::new(
        Stage::Connect,
        Cause::Connect {
            kind: std::io::ErrorKind::ConnectionRefused,
            detail: "cannot connect to 127.0.0.1:1: refused".into(),
        },
    );
    let sink = StubSink::new().connects(vec![Err(refused)]);
    let list = emails(5);
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert_eq!(
        report.aborted.as_deref(),
        Some("SMTP connect: cannot connect to 127.0.0.1:1: refused")
    );
    assert_eq!((report.sent, report.not_attempted), (0, 5));
    assert_eq!(
        journal.events(),
        [format!("claimed {}", list[0]), format!("released {}", list[0])]
    );
}

#[test]
fn a_run_of_transient_failures_aborts() {
    let list = emails(30);
    let mut sink = StubSink::new();
    for e in &list {
        let down = (0..4)
            .map(|_| Err(reply(Stage::Mail, 421, "4.3.2 shutting down")))
            .collect();
        sink = sink.replies(e, down);
    }
    let report = run_with(&sink, &list, &ManualJournal::default(), &opts(1, 3));
    let why = report.aborted.clone().expect("aborted");
    assert!(
        why.starts_with("11 transient failures in a row, the last: SMTP MAIL FROM"),
        "{why}"
    );
    assert_eq!(report.sent, 0);
    assert_eq!(
        report.sent + report.failed.len() + report.not_attempted,
        30,
        "{report:?}"
    );
}

#[test]
fn a_message_that_may_have_arrived_is_sent_again_and_reported() {
    let list = emails(2);
    let lost = SmtpError::new(Stage::Message, Cause::Disconnected("reset by peer".into()));
    assert!(lost.maybe_delivered());
    let sink = StubSink::new().replies(&list[0], vec![Err(lost)]);
    let progress = Counts::default();
    let journal = ManualJournal::default();
    let report = run(
        &sink,
        &Plain,
        &jobs(&list),
        &journal,
        &opts(1, 3),
        &progress,
        &AtomicBool::new(false),
    );
    assert_eq!(report.sent, 2);
    assert_eq!(report.maybe_duplicated, vec![list[0].clone()]);
    assert_eq!(*progress.uncertain.lock().unwrap(), vec![list[0].clone()]);
    let calls: Vec<_> = sink.calls().into_iter().map(|c| (c.to, c.ok)).collect();
    assert_eq!(
        calls,
        [
            (list[0].clone(), false),
            (list[0].clone(), true),
            (list[1].clone(), true)
        ]
    );
}

#[test]
fn content_goes_out_only_after_the_previous_sent_mark_is_committed() {
    let journal: &'static ManualJournal = Box::leak(Box::default());
    let last_on_conn: &'static Mutex<HashMap<u32, String>> = Box::leak(Box::default());
    let violations: &'static Mutex<Vec<String>> = Box::leak(Box::default());
    let sink = StubSink::new().on_content(|conn, to| {
        let mut last = last_on_conn.lock().unwrap();
        if let Some(prev) = last.get(&conn) {
            let seq = journal.sent_seq.lock().unwrap()[prev];
            if journal.committed.load(Ordering::SeqCst) < seq {
                violations
                    .lock()
                    .unwrap()
                    .push(format!("{to} before {prev} was committed"));
            }
        }
        last.insert(conn, to.to_string());
    });
    let list = emails(40);
    let report = run_with(&sink, &list, journal, &opts(3, 3));
    assert_eq!(report.sent, 40);
    assert_eq!(*violations.lock().unwrap(), Vec::<String>::new());
    // The next envelope went out with most contents (as when pipelining).
    let announced = sink.calls().iter().filter(|c| c.next.is_some()).count();
    assert!(announced >= 40 - 3, "{announced} announcements");
    // Every worker waits for its last mark before it ends.
    let max_sent = *journal.sent_seq.lock().unwrap().values().max().unwrap();
    assert_eq!(journal.committed.load(Ordering::SeqCst), max_sent);
}

#[test]
fn an_interrupt_finishes_what_is_in_flight_and_takes_no_more() {
    let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let progress = Counts {
        cancel_after: Some((3, flag)),
        ..Counts::default()
    };
    let sink = StubSink::new();
    let list = emails(10);
    let report = run(
        &sink,
        &Plain,
        &jobs(&list),
        &NoJournalStub,
        &opts(1, 3),
        &progress,
        flag,
    );
    assert!(report.interrupted);
    assert_eq!((report.sent, report.not_attempted), (3, 7));
}

#[test]
fn a_journal_that_stops_writing_aborts_the_run() {
    let journal = ManualJournal {
        stop_after: Some(4),
        ..ManualJournal::default()
    };
    let list = emails(10);
    let report = run_with(&StubSink::new(), &list, &journal, &opts(1, 3));
    assert_eq!(
        report.aborted.as_deref(),
        Some("the journal stopped writing (see the error below)")
    );
    assert_eq!((report.sent, report.not_attempted), (2, 8));
}

#[test]
fn a_journal_that_stops_while_a_message_waits_withholds_its_content() {
    // Stopped once the second message is claimed: its content waits for the
    // first one's record and must not go out (two unrecorded messages on
    // one connection would break the one-duplicate bound).
    let journal = ManualJournal {
        stop_after: Some(3),
        ..ManualJournal::default()
    };
    let list = emails(10);
    let sink = StubSink::new();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert_eq!(
        report.aborted.as_deref(),
        Some("the journal stopped writing (see the error below)")
    );
    assert_eq!(sink.delivered(), ["r000@example.org"]);
    assert_eq!((report.sent, report.not_attempted), (1, 9));
    assert_eq!(
        journal.events().last().map(String::as_str),
        Some("released r001@example.org")
    );
}

#[test]
fn a_message_that_cannot_be_built_fails_only_its_recipient() {
    let list = vec![
        "a@example.org".to_string(),
        "bad@example.org".into(),
        "c@example.org".into(),
    ];
    let report = run_with(&StubSink::new(), &list, &ManualJournal::default(), &opts(1, 3));
    assert_eq!(report.sent, 2);
    assert_eq!(
        report.failed,
        [(
            "bad@example.org".to_string(),
            "cannot build for bad@example.org".to_string()
        )]
    );
}

#[test]
fn throttle_replies_slow_the_shared_rate_for_every_connection() {
    let list = emails(6);
    let mut sink = StubSink::new();
    for e in list.iter().step_by(2) {
        sink = sink.replies(
            e,
            vec![Err(reply(Stage::Mail, 421, "4.7.0 too many messages, slow down"))],
        );
    }
    let sink = sink.replies(&list[1], vec![Err(reply(Stage::Data, 454, "4.7.0 throttling failure"))]);
    let o = Options {
        rate_per_second: 1000.0,
        ..opts(2, 3)
    };
    let report = run_with(&sink, &list, &ManualJournal::default(), &o);
    assert_eq!((report.sent, report.failed.len()), (6, 0), "retried and delivered");
    assert_eq!(report.throttled, 4);
    // Halved at least once (more if the replies were more than a cooldown apart).
    let slowed = report.slowed_to.expect("slowed down");
    assert!((1000.0 / 16.0..=500.0).contains(&slowed), "{slowed}");
    // Other transient replies retry without touching the rate.
    let sink = StubSink::new().replies(&list[0], vec![Err(reply(Stage::Rcpt, 451, "4.3.0 try later"))]);
    let report = run_with(&sink, &list, &ManualJournal::default(), &o);
    assert_eq!((report.throttled, report.slowed_to), (0, None));
}

#[test]
fn counts_add_up_when_a_run_aborts_with_messages_in_flight() {
    let list = emails(200);
    for (at, workers) in [(0, 4), (7, 4), (50, 3), (199, 4), (120, 1)] {
        // A reply that stops the whole run while the other connections have
        // messages in flight: they finish, nobody takes another.
        let fatal = SmtpError::new(Stage::Mail, Cause::Settings("the run must stop".into()));
        let lost = SmtpError::new(Stage::Message, Cause::Disconnected("reset by peer".into()));
        let sink = StubSink::new()
            .replies(&list[at], vec![Err(fatal)])
            .replies(&list[(at + 3) % 200], vec![Err(lost)]);
        let report = run_with(&sink, &list, &ManualJournal::default(), &opts(workers, 3));
        assert!(report.aborted.is_some(), "{report:?}");
        assert_eq!(
            report.sent + report.failed.len() + report.not_attempted,
            200,
            "at {at}: {report:?}"
        );
        assert_eq!(report.sent, sink.delivered().len());
    }
}

mod lookahead;
mod refusals;
