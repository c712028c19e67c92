//! The sender-refused circuit breaker through the dispatcher: a server that
//! refuses our sender (or requires authentication) stops the run before it
//! fails anybody; refusals after a success are ordinary failures.

use super::*;

/// The same answer to every recipient.
fn refusing(list: &[String], stage: Stage, code: u16, text: &str) -> StubSink {
    list.iter().fold(StubSink::new(), |sink, e| {
        sink.replies(e, vec![Err(reply(stage, code, text))])
    })
}

#[test]
fn a_sender_refused_for_every_recipient_stops_the_run_and_fails_nobody() {
    let list = emails(200);
    let sink = refusing(&list, Stage::Rcpt, 554, "5.7.1 Relay access denied");
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(4, 3));
    let why = report.aborted.clone().expect("aborted");
    assert!(
        why.starts_with("the server refused the sender, not the recipients: 5 recipients in a row got the same answer"),
        "{why}"
    );
    assert!(why.ends_with("hint: the server does not relay for this sender: set [smtp] username and password_env, or use the server your provider gives for sending"), "{why}");
    assert_eq!((report.sent, report.failed.len(), report.not_attempted), (0, 0, 200));
    let events = journal.events();
    assert!(!events.iter().any(|e| e.starts_with("failed")), "{events:?}");
    let claimed = events.iter().filter(|e| e.starts_with("claimed")).count();
    let released = events.iter().filter(|e| e.starts_with("released")).count();
    assert_eq!(claimed, released, "every claim is released: {events:?}");
    assert!(claimed < 200, "the run stopped early ({claimed} attempted)");
}

#[test]
fn authentication_required_at_mail_from_stops_at_the_first_answer() {
    let list = emails(50);
    let sink = refusing(&list, Stage::Mail, 530, "5.7.0 Authentication required");
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert_eq!(
        report.aborted.as_deref(),
        Some(
            "the server refused the sender (SMTP MAIL FROM: server replied 530 5.7.0 Authentication required); \
             nobody was marked failed, everyone is still pending. hint: the server requires authentication: \
             set [smtp] username and password_env"
        )
    );
    assert_eq!((report.sent, report.failed.len(), report.not_attempted), (0, 0, 50));
    assert_eq!(
        journal.events(),
        [format!("claimed {}", list[0]), format!("released {}", list[0])]
    );
}

#[test]
fn refusals_before_a_success_are_ordinary_failures_once_a_message_gets_through() {
    let list = emails(10);
    let denied = || Err(reply(Stage::Rcpt, 550, "5.7.1 recipient blocks you"));
    let sink = StubSink::new()
        .replies(&list[0], vec![denied()])
        .replies(&list[1], vec![denied()]);
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert_eq!(report.aborted, None);
    assert_eq!((report.sent, report.failed.len()), (8, 2));
    let events = journal.events();
    assert!(events.contains(&format!("failed {}", list[0])), "{events:?}");
    assert!(events.contains(&format!("failed {}", list[1])), "{events:?}");
}

#[test]
fn a_short_list_refused_entirely_stops_too() {
    let list = emails(3);
    let sink = refusing(&list, Stage::Rcpt, 554, "5.7.1 Relay access denied");
    let journal = ManualJournal::default();
    let report = run_with(&sink, &list, &journal, &opts(1, 3));
    assert!(report.aborted.is_some());
    assert_eq!((report.failed.len(), report.not_attempted), (0, 3));
}
