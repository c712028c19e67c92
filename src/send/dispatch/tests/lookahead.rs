//! The one-message lookahead a pipelining sink uses: each content carries
//! the next envelope, and that envelope's message is the next one sent,
//! through failures, retries, reconnects and stops.

use super::*;

#[test]
fn each_content_carries_the_next_envelope_and_the_next_send_is_that_message() {
    let sink = StubSink::new();
    let list = emails(5);
    let report = run_with(&sink, &list, &ManualJournal::default(), &opts(1, 3));
    assert_eq!(report.sent, 5);
    let next: Vec<Option<String>> = sink.calls().into_iter().map(|c| c.next).collect();
    let mut expected: Vec<Option<String>> = list[1..].iter().cloned().map(Some).collect();
    expected.push(None);
    assert_eq!(next, expected);
    assert_eq!(sink.broken_promises(), Vec::<String>::new());
}

#[test]
fn a_message_that_cannot_be_built_is_never_announced() {
    let list = vec![
        "a@example.org".to_string(),
        "bad@example.org".into(),
        "c@example.org".into(),
    ];
    let sink = StubSink::new();
    let report = run_with(&sink, &list, &ManualJournal::default(), &opts(1, 3));
    assert_eq!((report.sent, report.failed.len()), (2, 1));
    let calls = sink.calls();
    assert_eq!(calls[0].next.as_deref(), Some("c@example.org"));
    assert_eq!(sink.broken_promises(), Vec::<String>::new());
}

#[test]
fn announcements_hold_through_failures_retries_and_reconnects() {
    let list = emails(60);
    let lost = || Err(SmtpError::new(Stage::Message, Cause::Disconnected("reset".into())));
    let mut sink = StubSink::new();
    for (i, e) in list.iter().enumerate() {
        let script = match i % 7 {
            1 => vec![Err(reply(Stage::Rcpt, 451, "4.3.0 try later"))],
            2 => vec![Err(reply(Stage::Rcpt, 550, "5.1.1 no such user"))],
            3 => vec![lost()],
            4 => vec![Err(reply(Stage::Message, 554, "5.6.0 refused"))],
            _ => continue,
        };
        sink = sink.replies(e, script);
    }
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(3, 3));
    assert_eq!(sink.broken_promises(), Vec::<String>::new());
    let failed = list.iter().enumerate().filter(|(i, _)| matches!(i % 7, 2 | 4)).count();
    assert_eq!((report.sent, report.failed.len()), (60 - failed, failed));
    let mut delivered = sink.delivered();
    delivered.sort();
    delivered.dedup();
    assert_eq!(
        delivered.len(),
        60 - failed,
        "each delivered recipient got one accepted message"
    );
    assert_eq!(report.not_attempted, 0);
}

#[test]
fn a_stop_leaves_the_message_taken_ahead_unclaimed_and_counted() {
    let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let progress = Counts {
        cancel_after: Some((3, flag)),
        ..Counts::default()
    };
    let sink = StubSink::new();
    let list = emails(10);
    let journal = ManualJournal::default();
    let report = run(&sink, &Plain, &jobs(&list), &journal, &opts(1, 3), &progress, flag);
    assert_eq!((report.sent, report.not_attempted), (3, 7));
    let claimed = journal.events().iter().filter(|e| e.starts_with("claimed")).count();
    assert_eq!(claimed, 3, "{:?}", journal.events());
    // The last content announced the fourth message; it never went out.
    assert_eq!(sink.calls().last().unwrap().next.as_deref(), Some(list[3].as_str()));
}
