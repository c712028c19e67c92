//! Tests of matching a report to an issue and a subscriber: VERP, Message-ID, address; forged and foreign reports.

use super::*;
use crate::bounce::{Class, Kind, Original, Reason};
use crate::keys::UnsubscribeKey;

const READER: &str = "reader@example.org";

fn key() -> VerpKey {
    VerpKey::derive(&UnsubscribeKey::new(b"0123456789abcdef0123".to_vec()).unwrap())
}

fn directory(verp: bool) -> Directory {
    let keys = [READER, "other@example.org"].iter().map(|s| s.to_string()).collect();
    let template = Template::parse("bounces+{token}@news.example.com").unwrap();
    Directory::new(keys, vec!["w1".into(), "w2".into()], verp.then(|| (template, key())))
}

fn entry(recipient: Option<&str>) -> Entry {
    Entry {
        recipient: recipient.map(str::to_string),
        original_recipient: None,
        action: Some("failed".into()),
        status: Some("5.1.1".into()),
        status_inferred: false,
        reply_code: Some(550),
        diagnostic: String::new(),
        class: Class::Hard,
        reason: Reason::UserUnknown,
        feedback_type: None,
    }
}

fn report(message_id: Option<String>, to: &[&str]) -> Report {
    Report {
        kind: Kind::Dsn,
        report_id: Some("<r@mx>".into()),
        entries: Vec::new(),
        original: Original {
            message_id,
            recipients: to.iter().map(|s| s.to_string()).collect(),
        },
        warnings: Vec::new(),
    }
}

fn ours(issue: &str, email: &str) -> Option<String> {
    Some(format!(
        "<{issue}.{}@news.example.com>",
        crate::message::recipient_hash(issue, email)
    ))
}

#[test]
fn a_verp_token_names_the_subscriber_and_the_issue() {
    let mut d = directory(true);
    let token = key().token("w2", READER);
    let raw = format!("Delivered-To: bounces+{token}@news.example.com\nSubject: failure\n\nbody\n");
    // The DSN names a forward; the token says whom we sent it to.
    let m = d
        .find(
            &report(None, &[]),
            &entry(Some("fwd@elsewhere.example")),
            raw.as_bytes(),
        )
        .unwrap();
    assert_eq!(
        m,
        Matched {
            email: READER.into(),
            issue: Some("w2".into()),
            by: "verp"
        }
    );
}

#[test]
fn a_token_nobody_has_is_not_ours() {
    let mut d = directory(true);
    let forged = key().token("w2", "stranger@example.net");
    let raw = format!("To: bounces+{forged}@news.example.com\n\n");
    let e = d.find(&report(ours("w2", READER), &[]), &entry(Some(READER)), raw.as_bytes());
    assert!(e.unwrap_err().contains("names nobody on the list"));
    let other_key = VerpKey::derive(&UnsubscribeKey::new(b"a-different-secret-key".to_vec()).unwrap());
    let raw = format!("To: bounces+{}@news.example.com\n\n", other_key.token("w2", READER));
    assert!(d
        .find(&report(None, &[]), &entry(Some(READER)), raw.as_bytes())
        .is_err());
}

#[test]
fn our_message_id_ties_the_entry_even_without_an_address() {
    let mut d = directory(false);
    let m = d
        .find(&report(ours("w1", READER), &[]), &entry(Some(READER)), b"")
        .unwrap();
    assert_eq!(
        (m.email.as_str(), m.issue.as_deref(), m.by),
        (READER, Some("w1"), "message-id")
    );
    // A complaint that hides the reader: the hash is looked up over the list.
    let m = d.find(&report(ours("w1", READER), &[]), &entry(None), b"").unwrap();
    assert_eq!(m.email, READER);
    // The returned To names the reader when the DSN names a forward.
    let m = d
        .find(
            &report(ours("w1", READER), &[READER]),
            &entry(Some("fwd@elsewhere.example")),
            b"",
        )
        .unwrap();
    assert_eq!(m.email, READER);
}

#[test]
fn someone_elses_message_is_never_matched_by_address() {
    let mut d = directory(false);
    let e = d
        .find(
            &report(Some("<CAF=x1@mail.gmail.com>".into()), &[]),
            &entry(Some(READER)),
            b"",
        )
        .unwrap_err();
    assert_eq!(
        e,
        "the returned message <CAF=x1@mail.gmail.com> is not one we sent to anyone on the list"
    );
    // Our shape, a hash that is nobody's on the list.
    let stranger = ours("w1", "stranger@example.net");
    assert!(d.find(&report(stranger, &[]), &entry(Some(READER)), b"").is_err());
}

#[test]
fn without_id_or_token_the_address_must_be_on_the_list() {
    let mut d = directory(false);
    let m = d.find(&report(None, &[]), &entry(Some(READER)), b"").unwrap();
    assert_eq!((m.issue, m.by), (None, "recipient"));
    let e = d
        .find(&report(None, &[]), &entry(Some("stranger@example.net")), b"")
        .unwrap_err();
    assert!(e.starts_with("stranger@example.net is not on the list"), "{e}");
}
