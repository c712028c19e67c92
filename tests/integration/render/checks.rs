//! Invariants of a rendered issue, shared by the fixture and corpus tests.

use newsletter::issue::{Block, Issue};
use newsletter::render::wrap::{display_width, TEXT_WIDTH};
use newsletter::render::GMAIL_CLIP_BYTES;

/// Titles and reference URLs present, text lines within 72 columns, and HTML
/// that parses without scripts, event handlers or `javascript:` URLs.
/// `verbatim`: lines allowed to be wider (code block lines).
pub fn check_bodies(issue: &Issue, html: &str, text: &str, verbatim: &[String]) {
    let name = issue.path.display();
    let doc = scraper::Html::parse_document(html);
    let html_text: String = doc.root_element().text().collect();
    let hrefs: Vec<&str> = doc
        .select(&scraper::Selector::parse("a[href]").unwrap())
        .filter_map(|a| a.value().attr("href"))
        .collect();
    for a in &issue.articles {
        let title = a.title.split_whitespace().collect::<Vec<_>>().join(" ");
        let flat_html = html_text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat_html.contains(&title), "{name}: HTML lacks title {title:?}");
        let flat_text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat_text.contains(&title), "{name}: text lacks title {title:?}");
    }
    for r in &issue.references {
        for url in std::iter::once(&r.url).chain(r.related.iter().map(|x| &x.url)) {
            assert!(hrefs.contains(&url.as_str()), "{name}: HTML has no link to {url}");
            assert!(
                text.lines().any(|l| l.split_whitespace().any(|w| w == url)),
                "{name}: text lacks {url}"
            );
        }
    }
    for line in text.lines() {
        if display_width(line) <= TEXT_WIDTH || verbatim.iter().any(|v| v.trim() == line.trim()) {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let unbreakable = match words.as_slice() {
            [w] => w.contains("://") || w.starts_with("mailto:"),
            [marker, w] => (w.contains("://") || w.starts_with("mailto:")) && is_marker(marker),
            _ => false,
        };
        assert!(
            unbreakable,
            "{name}: text line {} columns wide: {line:?}",
            display_width(line)
        );
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "{name}: <script in HTML");
    assert!(!lower.contains("javascript:"), "{name}: javascript: in HTML");
    for el in doc.root_element().descendants().filter_map(scraper::ElementRef::wrap) {
        for (attr, value) in el.value().attrs() {
            assert!(!attr.to_ascii_lowercase().starts_with("on"), "{name}: {attr}={value:?}");
        }
    }
    assert!(html.len() < GMAIL_CLIP_BYTES, "{name}: HTML is {} bytes", html.len());
}

fn is_marker(w: &str) -> bool {
    w == "-" || (w.starts_with('[') && w.ends_with(']')) || w.trim_end_matches('.').chars().all(|c| c.is_ascii_digit())
}

/// Every line of every code block in the issue (these stay verbatim).
#[allow(dead_code)] // used by render_corpus.rs, wired in after the parser merge
pub fn code_lines(issue: &Issue) -> Vec<String> {
    fn walk(blocks: &[Block], out: &mut Vec<String>) {
        for b in blocks {
            match b {
                Block::CodeBlock { code, .. } => out.extend(code.lines().map(str::to_string)),
                Block::List(l) => l.items.iter().for_each(|i| walk(i, out)),
                Block::BlockQuote(inner) => walk(inner, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for a in &issue.articles {
        walk(&a.blocks, &mut out);
    }
    if let Some(s) = &issue.intro {
        walk(&s.blocks, &mut out);
    }
    out
}
