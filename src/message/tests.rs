//! The message factory: issue ids, and the assembled bytes against lettre's
//! builder (`reference`) for many recipients, settings and issues.

use super::{valid_issue_id, Built, MessageFactory, Recipient};
use crate::config::Config;
use crate::keys::{Keys, UnsubscribeKey};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[test]
fn issue_ids_are_never_paths() {
    for ok in ["2026-w47", "issue-025", "a.b_c", &"x".repeat(100)] {
        assert!(valid_issue_id(ok), "{ok}");
    }
    for bad in ["", "../x", "a/b", ".hidden", "a b", "a:b", "가나", &"x".repeat(101)] {
        assert!(!valid_issue_id(bad), "{bad}");
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const BASE: &str = r#"[newsletter]
name = "Field Notes Weekly"
from = "Field Notes <weekly@example.com>"
list_id = "weekly.example.com"
archive_url = "https://example.com/weekly/{id}/"
postal_address = "1 Example Street, Seoul"
"#;

/// The settings that change the headers or the bodies' shape, one per config.
fn settings() -> Vec<(&'static str, String)> {
    let dkim = repo().join("tests/integration/fixtures/dkim/test-key.pem");
    let full = "reply_to = \"editor@example.com\"\n\
        subject = \"{title}\"\n\
        unsubscribe_url = \"https://example.com/u?token={token}\"\n\
        unsubscribe_mailto = \"unsubscribe@example.com\"\n\
        bounce_address = \"bounces@example.com\"\n";
    vec![
        ("full", full.to_string()),
        (
            "personal subject, VERP, theme header and footer with fields",
            "reply_to = \"Editor Kim <editor@example.com>\"\n\
             subject = \"{name|독자}님, {title} ({city|어딘가})\"\n\
             unsubscribe_url = \"https://example.com/u?token={token}\"\n\
             bounce_address = \"bounces+{token}@example.com\"\n\
             [theme]\n\
             header = \"Hello {name|reader}, greetings to {City|your town}.\"\n\
             footer = \"Your plan: {plan|free}\"\n"
                .to_string(),
        ),
        (
            "plain http URL (no one-click), no reply-to, no mailto",
            "subject = \"Issue {number}: {title}\"\n\
             unsubscribe_url = \"http://example.com/u?token={token}\"\n\
             bounce_address = \"bounces@example.com\"\n"
                .to_string(),
        ),
        (
            "mailto only",
            "subject = \"{title}\"\nunsubscribe_mailto = \"leave@example.com\"\nbounce_address = \"b@example.com\"\n"
                .to_string(),
        ),
        (
            "DKIM",
            format!(
                "{full}[dkim]\ndomain = \"example.com\"\nselector = \"weekly\"\nkey_file = \"{}\"\n",
                dkim.display()
            ),
        ),
    ]
}

fn config(extra: &str) -> Config {
    let text = format!("{BASE}{extra}");
    crate::config::parse(&repo().join("newsletter.toml"), &text).expect("test config")
}

/// The keys a send would load; the unsubscribe secret is set here, not
/// read from the environment.
fn keys(cfg: &Config) -> Keys {
    let key = UnsubscribeKey::new(&b"message-test-key-0123456789abcdef"[..]).unwrap();
    Keys {
        dkim: cfg
            .dkim
            .as_ref()
            .map(|d| crate::keys::load_dkim(cfg, d).expect("the test DKIM key loads")),
        verp: cfg.newsletter.verp.as_ref().map(|_| crate::verp::VerpKey::derive(&key)),
        unsubscribe: Some(key),
    }
}

/// The repository's example issues, and some of the corpus (when present).
fn issues() -> Vec<PathBuf> {
    let mut paths = vec![repo().join("issues/2026-w47.md"), repo().join("issues/2026-w48.md")];
    let corpus = std::env::var_os("NEWSLETTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus"));
    if corpus.join("article-weekly").is_dir() {
        for n in [1, 25, 48] {
            paths.push(corpus.join(format!("article-weekly/issue-{n:03}.md")));
        }
        for (series, file) in [
            ("this-week-in-rust", ""),
            ("this-week-in-htmx", "2021-10-17.md"),
            ("this-month-in-rust-osdev", "2024-06.md"),
        ] {
            let dir = corpus.join("other").join(series);
            let file = if file.is_empty() {
                first_post(&dir)
            } else {
                dir.join(file)
            };
            paths.push(file);
        }
    } else if std::env::var_os("NEWSLETTER_REQUIRE_CORPUS").is_some() {
        panic!(
            "corpus not found at {} (NEWSLETTER_REQUIRE_CORPUS is set)",
            corpus.display()
        );
    } else {
        eprintln!(
            "note: corpus not found at {}; comparing on the example issues only",
            corpus.display()
        );
    }
    paths
}

fn first_post(dir: &Path) -> PathBuf {
    let mut posts: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus series")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("SOURCE.md"))
        .collect();
    posts.sort();
    posts.into_iter().next().expect("a post")
}

/// Names that exercise the header encoder and the bodies' escaping.
fn names() -> Vec<Option<String>> {
    let mut names: Vec<Option<String>> = [
        "",
        "Reader One",
        "김민지",
        "김 민지",
        "공백  두칸",
        "O'Brien, \"Jr\"",
        "\"quoted\"",
        "back\\slash",
        "a <b@example.com>",
        "semi; colon: at@ (comment)",
        "=?utf-8?q?Encoded_look-alike?=",
        "Zoë Ångström",
        "emoji 🎉 name",
        "<script>alert(1)</script> & co",
        " leading and trailing ",
        "tab\tinside",
    ]
    .iter()
    .map(|n| Some(n.to_string()))
    .collect();
    names.push(None);
    names.push(Some("L".repeat(200)));
    names.push(Some("김".repeat(200)));
    names.push(Some("word ".repeat(40)));
    names.push(Some(format!("{} {}", "x".repeat(80), "한글".repeat(30))));
    names
}

fn emails() -> Vec<String> {
    vec![
        "reader@example.com".into(),
        "Mixed.Case+tag@Example.COM".into(),
        format!("{}@example.com", "long".repeat(15)),
        "o'brien@example.co.kr".into(),
        "x@sub.domain.example".into(),
    ]
}

fn attributes() -> Vec<Vec<(Arc<str>, String)>> {
    vec![
        vec![],
        vec![
            (Arc::from("city"), "서울".to_string()),
            (Arc::from("plan"), "pro & more".to_string()),
        ],
        vec![(Arc::from("City"), "  ".to_string())],
        vec![(Arc::from("plan"), "p".repeat(300))],
    ]
}

/// Asserts that the fast path and lettre's builder agree: the same error,
/// or the same envelope, Message-ID and bytes (DKIM's `t=` included: both
/// sign at the factory's date).
fn same(
    fast: impl Fn() -> anyhow::Result<Built>,
    lettre: impl Fn() -> anyhow::Result<Built>,
    what: &str,
) -> Option<Built> {
    match (fast(), lettre()) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.envelope, b.envelope, "{what}");
            assert_eq!(a.message_id, b.message_id, "{what}");
            assert!(
                a.bytes == b.bytes,
                "{what}: bytes differ at {}:\nfast:   {}\nlettre: {}",
                first_difference(&a.bytes, &b.bytes),
                context(&a.bytes, &b.bytes),
                context(&b.bytes, &a.bytes)
            );
            Some(a)
        }
        (Err(a), Err(b)) => {
            assert_eq!(format!("{a:#}"), format!("{b:#}"), "{what}");
            None
        }
        (a, b) => panic!(
            "{what}: fast {:?} but lettre {:?}",
            a.map(|_| "built"),
            b.map(|_| "built")
        ),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn context(a: &[u8], b: &[u8]) -> String {
    let at = first_difference(a, b);
    String::from_utf8_lossy(&a[at.saturating_sub(60)..(at + 60).min(a.len())])
        .escape_debug()
        .to_string()
}

#[test]
fn assembled_messages_equal_lettres_for_many_recipients() {
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let (mut compared, mut built_ok) = (0, 0);
    for path in issues() {
        let text = std::fs::read_to_string(&path).unwrap();
        let issue = crate::issue::parse(&path, &text).expect("issue parses").issue;
        for (what, extra) in settings() {
            let cfg = config(&extra);
            let keys = keys(&cfg);
            let prepared = crate::render::prepare(&issue, &cfg).expect("renders");
            let dkim = cfg.dkim.is_some();
            for test_copy in [false, true] {
                let factory = MessageFactory::new(&cfg, &issue, &prepared, &keys, date).expect("factory");
                let factory = if test_copy { factory.test_copies() } else { factory };
                let (names, emails, attributes) = (names(), emails(), attributes());
                for (i, name) in names.iter().enumerate() {
                    // RSA signing is slow: with DKIM, every third name.
                    if dkim && i % 3 != 0 {
                        continue;
                    }
                    let email = &emails[i % emails.len()];
                    let attributes = &attributes[i % attributes.len()];
                    let r = Recipient {
                        email,
                        name: name.as_deref(),
                        attributes,
                    };
                    let what = format!(
                        "{} / {what} / test copy {test_copy} / {name:?} <{email}>",
                        path.display()
                    );
                    if let Some(built) = same(|| factory.build(r), || factory.build_with_lettre(r), &what) {
                        let signed = contains(&built.bytes, b"\r\nDKIM-Signature: v=1; a=rsa-sha256;");
                        assert_eq!(signed, dkim, "{what}: signed when DKIM is configured");
                        if dkim {
                            assert!(contains(&built.bytes, b" t=1790000000;"), "{what}: signed at the date");
                        }
                        built_ok += 1;
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(compared >= 2 * 2 * (4 * 21 + 7), "{compared}");
    assert!(
        built_ok * 10 >= compared * 8,
        "most recipients are built: {built_ok} of {compared}"
    );
}

#[test]
fn refusals_are_the_same_as_lettres() {
    let cfg = config(&settings()[0].1);
    let keys = keys(&cfg);
    let path = repo().join("issues/2026-w47.md");
    let issue = crate::issue::parse(&path, &std::fs::read_to_string(&path).unwrap())
        .unwrap()
        .issue;
    let prepared = crate::render::prepare(&issue, &cfg).unwrap();
    let factory = MessageFactory::new(&cfg, &issue, &prepared, &keys, SystemTime::UNIX_EPOCH).unwrap();
    let long = "n".repeat(1200);
    for (email, name) in [
        ("not an address", None),
        ("a@example.com", Some("line\r\nBcc: injected@example.com")),
        ("a@example.com", Some("vertical\u{b}tab")),
        ("a@example.com", Some("separator\u{2028}here")),
        ("a@example.com", Some(long.as_str())),
    ] {
        let r = Recipient::bare(email, name);
        same(
            || factory.build(r),
            || factory.build_with_lettre(r),
            &format!("{email} {name:?}"),
        );
        assert!(factory.build(r).is_err(), "{email} {name:?} must be refused");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Arbitrary names and field values (any characters, controls among
    /// them): the fast path builds what lettre builds, or refuses the same way.
    #[test]
    fn arbitrary_names_build_as_lettre_builds(
        name in proptest::option::of("(.|[\\r\\n\\t\\u{b}\\u{85}\\u{2028}\"\\\\<>,;:=?@ ]){0,90}"),
        city in "(.|[\\r\\n\\t]){0,40}",
        local in "[a-zA-Z0-9.+_-]{1,30}",
    ) {
        let cfg = config(&settings()[1].1);
        let keys = keys(&cfg);
        let path = repo().join("issues/2026-w47.md");
        let issue = crate::issue::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap().issue;
        let prepared = crate::render::prepare(&issue, &cfg).unwrap();
        let factory = MessageFactory::new(&cfg, &issue, &prepared, &keys, SystemTime::UNIX_EPOCH).unwrap();
        let email = format!("{local}@example.com");
        let attributes = vec![(Arc::from("city"), city)];
        let r = Recipient { email: &email, name: name.as_deref(), attributes: &attributes };
        same(|| factory.build(r), || factory.build_with_lettre(r), &format!("{name:?} <{email}>"));
    }
}
