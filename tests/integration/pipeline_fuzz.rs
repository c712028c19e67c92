//! A fuzz run over the whole pipeline: issue text → parse → render → the
//! message one recipient gets, on generated issues built from hostile
//! pieces (deep nesting around the limit, emphasis runs, links with bad
//! schemes, raw HTML, long words, control characters, encoded-word
//! look-alikes in the title, odd names). Each case runs on a thread with a
//! 1 MB stack. Nothing may panic or overflow, and every message that is
//! built must be well-formed: short header lines, no raw control
//! characters in the header, a subject and a name that decode back exactly,
//! no script or `javascript:` link in the HTML.
//!
//! It runs for a time budget rather than a case count: NEWSLETTER_FUZZ_SECS
//! (default 2; `.ci/run` gives it 90). The input being tried is kept in
//! `pipeline-fuzz-last-input.txt` under Cargo's target tmp folder, so an
//! abort (which no test harness can catch) leaves it behind.

use crate::render::example_config;
use mail_parser::MessageParser;
use newsletter::keys::{Keys, UnsubscribeKey};
use newsletter::message::{MessageFactory, Recipient};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How far cases got: refused by the parser, then built into a message.
static REFUSED: AtomicUsize = AtomicUsize::new(0);
static BUILT: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone)]
struct Case {
    title: String,
    articles: Vec<(String, Vec<String>)>,
    name: Option<String>,
    email: &'static str,
    /// The subject template, maybe with personal fields.
    subject: &'static str,
    /// A `city` column for `{city}`.
    city: String,
}

const BAD_URLS: [&str; 8] = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " javascript:x",
    "vbscript:x",
    "https://a.example/\"onmouseover=\"alert(1)",
    "mailto:a@b.example?subject=x%0d%0aBcc:c@d.example",
    "https://ok.example/path?q=1&r=<2>",
];

fn fragment() -> impl Strategy<Value = String> {
    let units = prop::sample::select(vec!["> ", "- ", "1. ", "* ", "> - ", "  - "]);
    prop_oneof![
        "[-+#`*_\\[\\]()<>!~|&;:/. \n\t가나a1hpst=\"\\\\]{0,80}",
        (0usize..40, units).prop_map(|(n, u)| u.repeat(n) + "deep"),
        (0usize..40).prop_map(|n| "*a ".repeat(n) + "x" + &" b*".repeat(n)),
        (0usize..40).prop_map(|n| "**".repeat(n) + "x" + &"**".repeat(n)),
        (0usize..40).prop_map(|n| "[".repeat(n) + "x" + &"](https://e.example/)".repeat(n)),
        (prop::sample::select(BAD_URLS.to_vec()), "[a-z ]{0,10}").prop_map(|(u, t)| format!("[{t}]({u}) <{u}> {u}")),
        "(https?://[a-z.]{1,10}/[^ \n]{0,30}[ 가)]?){1,5}",
        "<[a-z]{1,6}( on[a-z]+=\"[^\"]{0,10}\")?>[^<]{0,20}</[a-z]{1,6}>",
        "<script>[a-z()]{0,10}</script>",
        "```[a-z]{0,5}\n[^`]{0,60}\n```",
        any::<String>().prop_map(|s| s.chars().take(60).collect()),
        "[가-힣 ]{0,60}",
        (1usize..3000).prop_map(|n| "w".repeat(n)),
    ]
}

fn title() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 ,:]{1,60}",
        "[가-힣 ]{1,40}",
        any::<String>().prop_map(|s| s.chars().take(80).collect()),
        Just("=?utf-8?q?Your_account_is_locked?=".to_string()),
        (1usize..6000).prop_map(|n| "T".repeat(n)),
        "[ 가a=?_\u{b}\u{85}\u{2028}]{1,30}",
    ]
}

fn name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "[A-Za-z가-힣][A-Za-z가-힣 ,.\"'()]{0,40}[A-Za-z가-힣]".prop_map(Some),
        (1usize..200).prop_map(|n| Some("N".repeat(n))),
        any::<String>().prop_map(|s| Some(s.chars().take(40).collect())),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let article = ("[A-Za-z가-힣 `*]{1,30}", prop::collection::vec(fragment(), 0..6));
    (
        title(),
        prop::collection::vec(article, 1..4),
        name(),
        prop::sample::select(vec!["reader@example.com", "a/b@example.org", "o'neil@example.net"]),
        prop::sample::select(vec!["{title}", "{title}, for {name|you}", "{city}:  {title}"]),
        prop_oneof![
            "[A-Za-z가-힣 ]{0,20}",
            any::<String>().prop_map(|s| s.chars().take(20).collect())
        ],
    )
        .prop_map(|(title, articles, name, email, subject, city)| Case {
            title,
            articles,
            name,
            email,
            subject,
            city,
        })
}

fn issue_text(c: &Case) -> String {
    let mut text = format!(
        "+++\ndate = 2026-11-23T09:00:00+09:00\ntitle = {}\n+++\n\n## Period\n\n`2026-11-15` ~ `2026-11-21`\n\n",
        toml::Value::String(c.title.clone())
    );
    for (heading, blocks) in &c.articles {
        text.push_str(&format!("## {heading}\n\n{}\n\n", blocks.join("\n\n")));
    }
    text.push_str("## References\n\n");
    for k in 0..c.articles.len() {
        text.push_str(&format!("- https://example.com/{k}\n"));
    }
    text
}

/// The whole pipeline for one case; panics on a broken invariant.
fn pipeline(c: &Case) {
    let text = issue_text(c);
    let Ok(parsed) = newsletter::issue::parse(Path::new("fuzz.md"), &text) else {
        REFUSED.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut cfg = example_config();
    cfg.newsletter.subject = c.subject.to_string();
    let keys = Keys {
        dkim: None,
        unsubscribe: Some(UnsubscribeKey::new(b"fuzz-key-0123456789abcdef".to_vec()).unwrap()),
        ..Keys::default()
    };
    let Ok(prepared) = newsletter::render::prepare(&parsed.issue, &cfg) else {
        return;
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let Ok(factory) = MessageFactory::new(&cfg, &parsed.issue, &prepared, &keys, now) else {
        let bad = c
            .title
            .chars()
            .any(|ch| ch.is_control() || ch == '\u{2028}' || ch == '\u{2029}');
        assert!(
            bad || c.title.trim().is_empty(),
            "a clean title was refused: {:?}",
            c.title
        );
        return;
    };
    let attributes = [(std::sync::Arc::<str>::from("city"), c.city.clone())];
    let recipient = Recipient {
        attributes: &attributes,
        ..Recipient::bare(c.email, c.name.as_deref())
    };
    let Ok(built) = factory.build(recipient) else {
        let unsafe_text = |s: &str| {
            s.chars()
                .any(|ch| ch.is_control() || ch == '\u{2028}' || ch == '\u{2029}')
        };
        let bad = c.name.as_deref().is_some_and(unsafe_text) || (c.subject.contains("{city}") && unsafe_text(&c.city));
        assert!(bad, "a clean recipient was refused: {:?} {:?}", c.name, c.city);
        return;
    };
    BUILT.fetch_add(1, Ordering::Relaxed);
    let raw = String::from_utf8(built.bytes.clone()).expect("UTF-8 message");
    let head = raw.split("\r\n\r\n").next().unwrap();
    for line in head.split("\r\n") {
        assert!(line.len() <= 998, "header line of {} octets", line.len());
        assert!(
            !line.contains(|ch: char| ch.is_control() && ch != '\t'),
            "raw control character in {line:?}"
        );
    }
    let msg = MessageParser::default().parse(&built.bytes).expect("parses");
    let subject = factory.subject_for(&recipient);
    assert_eq!(msg.subject(), Some(subject.as_str()), "subject decodes back");
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some(c.email));
    if let Some(n) = c.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        assert_eq!(to.name().map(str::trim), Some(n), "name decodes back");
    }
    let html = msg.body_html(0).expect("an HTML part").to_ascii_lowercase();
    assert!(!html.contains("<script"), "a script in the HTML");
    for bad in [
        "href=\"javascript:",
        "href=\"data:",
        "href=\"vbscript:",
        " onmouseover=",
    ] {
        assert!(!html.contains(bad), "{bad} in the HTML");
    }
}

/// Runs `pipeline` on a thread with a 1 MB stack, re-raising its panic.
fn on_small_stack(c: Case) {
    let last = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pipeline-fuzz-last-input.txt");
    let _ = std::fs::write(&last, format!("{c:#?}\n\n{}", issue_text(&c)));
    let t = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || pipeline(&c))
        .unwrap();
    if let Err(panic) = t.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn pipeline_fuzz() {
    let secs = std::env::var("NEWSLETTER_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let config = Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    };
    let mut cases = 0;
    while Instant::now() < deadline {
        // A runner counts its successes: a fresh one (fresh random seed) per batch.
        let mut runner = TestRunner::new(config.clone());
        if let Err(e) = runner.run(&case(), |c| {
            on_small_stack(c);
            Ok(())
        }) {
            panic!("pipeline fuzz found a failure after {cases} cases: {e}");
        }
        cases += 16;
    }
    let (refused, built) = (REFUSED.load(Ordering::Relaxed), BUILT.load(Ordering::Relaxed));
    eprintln!(
        "pipeline fuzz: {cases} cases in {secs} s: {refused} refused by the parser, {built} messages built and checked"
    );
}
