//! The bounce reader never panics, never loops and never overflows the
//! stack: random bytes, random cuts and splices of well-formed bounces,
//! deep MIME nesting, one huge line. (`PROPTEST_CASES` raises the count.)

use super::fixtures::*;
use newsletter::bounce::{self, input, Class};
use proptest::prelude::*;
use std::path::Path;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn seeds() -> Vec<String> {
    let rcpt = "reader@example.org";
    vec![
        postfix_dsn(
            rcpt,
            "5.1.1",
            "550 5.1.1 user unknown",
            "<a.0123456789abcdef@x.example>",
        ),
        exim_text(rcpt, "550 5.7.1 blocked"),
        qmail_two("a@example.org", "b@example.org"),
        arf(rcpt, "<m@x.example>"),
        GLOBAL_DSN.to_string(),
        crlf(VACATION),
    ]
}

/// Whatever the input, a reading is either an error or well formed.
fn check(bytes: &[u8]) {
    if let Ok(report) = bounce::parse(bytes) {
        assert!(!report.entries.is_empty());
        for e in &report.entries {
            assert!(e.diagnostic.chars().count() <= 1000);
            if e.class == Class::Hard {
                assert!(e.recipient.is_some(), "a hard bounce names its recipient");
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn cut_and_spliced_bounces_do_not_panic(
        seed in 0usize..6,
        other in 0usize..6,
        cut in 0usize..4000,
        at in 0usize..4000,
        junk in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let seeds = seeds();
        let a = seeds[seed].as_bytes();
        let b = seeds[other].as_bytes();
        let mut msg = a[..cut.min(a.len())].to_vec();
        msg.extend_from_slice(&junk);
        msg.extend_from_slice(&b[at.min(b.len())..]);
        check(&msg);
        check(&a[..cut.min(a.len())]);
    }

    #[test]
    fn mbox_splitting_never_loses_bytes_it_keeps(body in "[a-zA-Z >\\n]{0,400}") {
        let mbox = format!("From a@b x\nSubject: s\n\n{body}\n");
        let mut n = 0;
        input::split_mbox(mbox.as_bytes(), Path::new("m"), &mut |_, r| {
            n += 1;
            assert!(r.is_ok());
        });
        assert!(n >= 1);
    }
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let depth = 20_000;
    let mut msg = String::from("From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\n");
    for i in 0..depth {
        msg.push_str(&format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"));
    }
    msg.push_str("Content-Type: text/plain\n\n<a@example.org>: 550 5.1.1 user unknown\n");
    check(msg.as_bytes());
    let mut nested = String::new();
    for _ in 0..depth {
        nested.push_str("Content-Type: message/rfc822\n\n");
    }
    check(format!("From: a@b.example\n{nested}Subject: x\n\nbody\n").as_bytes());
}

#[test]
fn a_huge_line_of_at_signs_is_read() {
    let mut msg = exim_text("reader@example.org", "550 5.1.1 No such user");
    msg.insert_str(
        msg.find("This message").unwrap(),
        &format!("{}\n", "x@".repeat(2_000_000)),
    );
    check(msg.as_bytes());
}
