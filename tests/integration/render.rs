//! Rendered bodies of hand-built issues: golden files (UPDATE_GOLDEN=1
//! rewrites them) and the invariants every body must keep.

pub mod checks;
pub mod fixtures;

use crate::harness::repo_root;
use newsletter::config::Config;
use newsletter::issue::Issue;
use newsletter::render::{prepare, Personal};
use std::path::Path;

/// The repository's example config (`newsletter.toml`).
pub fn example_config() -> Config {
    let path = repo_root().join("newsletter.toml");
    newsletter::config::load(&path).unwrap_or_else(|d| panic!("{d:?}"))
}

pub const READER: Personal<'static> = Personal {
    name: Some("Reader"),
    email: "reader@example.com",
    unsubscribe_url: Some("https://example.com/u?token=PREVIEW-TOKEN"),
    attributes: &[],
};

/// Compares `actual` with the golden file, or rewrites it under UPDATE_GOLDEN=1.
fn golden(name: &str, actual: &str) {
    let path = repo_root().join("tests/integration/fixtures/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1 to create it)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{} differs from the rendered body at line {}:\n  golden: {:?}\n  actual: {:?}\n(UPDATE_GOLDEN=1 rewrites it after review)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn golden_pair(name: &str, issue: &Issue) {
    let prepared = prepare(issue, &example_config()).unwrap();
    let html = prepared.html(&READER);
    let text = prepared.text(&READER);
    checks::check_bodies(issue, &html, &text, &[]);
    golden(&format!("{name}.html"), &html);
    golden(&format!("{name}.txt"), &text);
}

#[test]
fn golden_korean_issue() {
    golden_pair("korean", &fixtures::korean());
}

#[test]
fn golden_english_issue() {
    golden_pair("english", &fixtures::english());
}

#[test]
fn every_recipient_gets_the_same_static_body() {
    let prepared = prepare(&fixtures::korean(), &example_config()).unwrap();
    let other = Personal {
        name: None,
        email: "other@example.com",
        unsubscribe_url: Some("https://example.com/u?token=OTHER"),
        attributes: &[],
    };
    let a = prepared.html(&READER);
    let b = prepared.html(&other);
    assert_eq!(
        a.replace("Reader &lt;reader@example.com&gt;", "X")
            .replace("PREVIEW-TOKEN", "T"),
        b.replace("other@example.com", "X").replace("OTHER", "T")
    );
}

#[test]
fn golden_check_can_fail() {
    // A changed body must not match its golden file.
    let mut issue = fixtures::english();
    issue.articles[0].title.push_str(" (changed)");
    let prepared = prepare(&issue, &example_config()).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/golden/english.txt");
    if let Ok(golden) = std::fs::read_to_string(path) {
        assert_ne!(golden, prepared.text(&READER));
    }
}

fn parsed(path: &Path) -> Issue {
    newsletter::issue::from_file(path)
        .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
        .issue
}

#[test]
fn golden_example_issues() {
    let root = crate::harness::repo_root();
    golden_pair("example-2026-w47", &parsed(&root.join("issues/2026-w47.md")));
    golden_pair("example-2026-w48", &parsed(&root.join("issues/2026-w48.md")));
    // Posts in other shapes: a Hugo post with capitalised keys, a lead,
    // `<!-- more -->`, inline HTML, a table, an image, footnotes and tasks.
    golden_pair(
        "breadth",
        &parsed(&root.join("tests/integration/fixtures/issues/breadth.md")),
    );
}

#[test]
fn golden_corpus_issue_025() {
    // Third-party text is read from ../shared/corpus at test time and never
    // stored in the repository: the golden file holds SHA-256 digests of our
    // two bodies. On a mismatch the bodies are written under target/ to diff.
    use sha2::{Digest, Sha256};
    let Some(corpus) = crate::harness::corpus() else { return };
    let issue = parsed(&corpus.join("article-weekly/issue-025.md"));
    let prepared = prepare(&issue, &example_config()).unwrap();
    let (html, text) = (prepared.html(&READER), prepared.text(&READER));
    checks::check_bodies(&issue, &html, &text, &[]);
    let hex = |s: &str| {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let actual = format!("html {}\ntext {}\n", hex(&html), hex(&text));
    let out = crate::harness::repo_root().join("target/golden-actual");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("corpus-issue-025.html"), &html).unwrap();
    std::fs::write(out.join("corpus-issue-025.txt"), &text).unwrap();
    golden("corpus-issue-025.sha256", &actual);
}
