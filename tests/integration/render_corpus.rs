//! Rendering all 52 Article Weekly issues. NOT yet listed in main.rs: it
//! needs `newsletter::issue::from_file` from the parser branch. After the
//! merge add `mod render_corpus;` to tests/integration/main.rs.

use crate::harness::{article_weekly, corpus};
use crate::render::checks::{check_bodies, code_lines};
use crate::render::{example_config, READER};
use newsletter::render::{prepare, GMAIL_CLIP_BYTES};

#[test]
fn every_corpus_issue_renders_within_the_rules() {
    let Some(corpus) = corpus() else { return };
    let cfg = example_config();
    let mut largest = (0, String::new());
    for path in article_weekly(&corpus) {
        let parsed = newsletter::issue::from_file(&path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        let issue = parsed.issue;
        let prepared = prepare(&issue, &cfg).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        let html = prepared.html(&READER);
        let text = prepared.text(&READER);
        check_bodies(&issue, &html, &text, &code_lines(&issue));
        assert!(prepared.html_size_estimate() >= html.len(), "{}", path.display());
        assert!(prepared.clip_warning().is_none(), "{}", path.display());
        // Korean issues are marked as such for screen readers and fonts.
        if issue.lang == "ko" {
            assert!(html.contains("<html lang=\"ko\" dir=\"ltr\""), "{}", path.display());
        }
        if html.len() > largest.0 {
            largest = (html.len(), path.display().to_string());
        }
    }
    assert!(largest.0 < GMAIL_CLIP_BYTES);
    eprintln!("largest HTML body: {} bytes ({})", largest.0, largest.1);
}

#[test]
fn corpus_code_blocks_stay_verbatim_in_text() {
    let Some(corpus) = corpus() else { return };
    let path = corpus.join("article-weekly/issue-018.md");
    let issue = newsletter::issue::from_file(&path)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .issue;
    let text = prepare(&issue, &example_config()).unwrap().text(&READER);
    let lines: Vec<&str> = text.lines().collect();
    for code in code_lines(&issue) {
        assert!(lines.contains(&code.trim_end()), "code line not verbatim: {code:?}");
    }
}
