//! Unit tests of the rendered bodies, on hand-built issues.

use super::wrap::display_width;
use super::*;
use crate::issue::{Article, Block, FrontMatter, Inline, Issue, List, Reference};
use chrono::DateTime;
use std::path::Path;

fn cfg(extra: &str) -> Config {
    let text = format!(
        "[newsletter]\nname = \"Field Notes Weekly\"\nfrom = \"Field Notes <weekly@example.com>\"\npostal_address = \"1 Example Street, Seoul\"\n{extra}"
    );
    crate::config::parse(Path::new("newsletter.toml"), &text).expect("test config")
}

fn t(s: &str) -> Inline {
    Inline::Text(s.into())
}

fn para(inlines: Vec<Inline>) -> Block {
    Block::Paragraph(inlines)
}

fn link(url: &str, text: &str) -> Inline {
    Inline::Link {
        url: url.into(),
        content: vec![t(text)],
    }
}

fn issue(title: &str, articles: Vec<Article>) -> Issue {
    Issue {
        id: "test-issue".into(),
        path: "issues/test-issue.md".into(),
        front: FrontMatter {
            title: title.into(),
            date: DateTime::parse_from_rfc3339("2024-06-24T02:15:00+09:00").unwrap(),
            date_has_time: true,
            authors: vec![],
            tags: vec![],
            categories: vec![],
            series: vec![],
            draft: false,
            slug: None,
            description: None,
            number: None,
            extra: Default::default(),
        },
        number: None,
        period: None,
        lead: vec![],
        summary: None,
        intro: None,
        references: articles
            .iter()
            .filter_map(|a| a.url.clone())
            .map(|url| Reference {
                url,
                title: None,
                line: 1,
                related: vec![],
            })
            .collect(),
        articles,
        footnotes: vec![],
        lang: "en".into(),
    }
}

fn article(title: &str, url: Option<&str>, blocks: Vec<Block>) -> Article {
    Article {
        title: title.into(),
        title_inlines: vec![t(title)],
        line: 1,
        blocks,
        url: url.map(Into::into),
    }
}

const READER: Personal<'static> = Personal {
    name: Some("Reader"),
    email: "reader@example.com",
    unsubscribe_url: Some("https://example.com/u?token=abc&x=1"),
    attributes: &[],
};

fn hostile() -> Issue {
    let title = "Tom & Jerry <script>alert(1)</script>\r\nBcc: evil@example.com";
    let body = vec![
        para(vec![t(
            "<script>alert('x')</script> raw <img src=x onerror=alert(1)> & < > \" ' 💣 e\u{301}",
        )]),
        para(vec![
            link("javascript:alert(1)", "click me"),
            t(" "),
            link("JAVASCRIPT:alert(2)", "or me"),
        ]),
        para(vec![
            link("data:text/html,<b>x</b>", "data"),
            t(" "),
            link("https://ok.example/?a=1&b=\"2\"", "fine"),
        ]),
        Block::CodeBlock {
            lang: Some("html".into()),
            code: "<script>alert(3)</script>\n".into(),
        },
    ];
    let mut i = issue(title, vec![article(title, Some("javascript:alert(4)"), body)]);
    i.lang = "en\" onload=\"x".into();
    i
}

#[test]
fn hostile_issue_renders_safely_in_html() {
    let p = prepare(&hostile(), &cfg("")).unwrap();
    let evil_reader = Personal {
        name: Some("<b onmouseover=alert(1)>Eve</b>\r\nBcc: x@example.com"),
        email: "eve@example.com",
        unsubscribe_url: Some("javascript:alert(5)"),
        attributes: &[],
    };
    let html = p.html(&evil_reader);
    let lower = html.to_ascii_lowercase();
    // The subject is repeated in the wrapper's aria-label, where `<` needs no
    // escaping inside the quotes: look for elements, not for the text.
    let scripts = scraper::Selector::parse("script, img, b").unwrap();
    assert_eq!(
        scraper::Html::parse_document(&html).select(&scripts).count(),
        0,
        "{html}"
    );
    assert!(!lower.contains("javascript:"), "{html}");
    assert!(!lower.contains("data:text"), "{html}");
    let doc = scraper::Html::parse_document(&html);
    for el in doc.root_element().descendants().filter_map(scraper::ElementRef::wrap) {
        for (name, value) in el.value().attrs() {
            assert!(!name.starts_with("on"), "event handler attribute {name}={value}");
        }
        if el.value().name() == "html" {
            assert_eq!(el.value().attr("lang"), Some("en\" onload=\"x"));
        }
    }
    // The text survives as text.
    assert!(html.contains("&lt;script&gt;alert"), "{html}");
    assert!(html.contains("click me") && html.contains("💣") && html.contains("e\u{301}"));
    assert!(
        html.contains("href=\"https://ok.example/?a=1&amp;b=%222%22\"")
            || html.contains("href=\"https://ok.example/?a=1&amp;b=&quot;2&quot;\""),
        "{html}"
    );
}

#[test]
fn hostile_issue_renders_safely_in_text() {
    let p = prepare(&hostile(), &cfg("")).unwrap();
    let evil = Personal {
        name: Some("Eve\r\nBcc: x@example.com"),
        email: "eve@example.com",
        unsubscribe_url: None,
        attributes: &[],
    };
    let text = p.text(&evil);
    assert!(!text.contains('\r'), "{text:?}");
    assert!(!text.contains("javascript:"), "{text}");
    assert!(!text.contains("data:text"), "{text}");
    assert!(
        text.contains("Tom & Jerry <script>alert(1)</script> Bcc: evil@example.com"),
        "{text}"
    );
    assert!(text.contains("Eve Bcc: x@example.com <eve@example.com>"), "{text}");
    assert!(text.contains("click me or me"), "{text}");
    assert!(
        text.contains("<script>alert(3)</script>"),
        "code stays verbatim: {text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("Bcc:")), "{text}");
}

#[test]
fn links_are_numbered_once_per_url_and_listed_after_the_article() {
    let a1 = article(
        "One",
        Some("https://one.example/"),
        vec![
            para(vec![
                t("See "),
                link("https://a.example/", "A"),
                t(" and "),
                link("https://b.example/", "B"),
            ]),
            para(vec![
                t("Again "),
                link("https://a.example/", "A again"),
                t(" bare "),
                link("https://bare.example/x", "https://bare.example/x"),
            ]),
        ],
    );
    let a2 = article(
        "Two",
        Some("https://two.example/"),
        vec![para(vec![link("mailto:x@example.com", "write")])],
    );
    let text = prepare(&issue("Links", vec![a1, a2]), &cfg("")).unwrap().text(&READER);
    assert!(text.contains("See A [1] and B [2]"), "{text}");
    assert!(text.contains("Again A again [1] bare https://bare.example/x"), "{text}");
    assert!(
        text.contains("[1] https://a.example/\n[2] https://b.example/\n"),
        "{text}"
    );
    assert!(
        text.contains("write [3]") && text.contains("[3] mailto:x@example.com"),
        "{text}"
    );
    assert_eq!(text.matches("https://a.example/").count(), 1, "{text}");
    assert!(!text.contains("[4]"), "{text}");
    let one = text.find("One\n---").unwrap();
    let refs = text.find("[1] https://a.example/").unwrap();
    let two = text.find("Two\n---").unwrap();
    assert!(one < refs && refs < two, "references close the article they belong to");
    assert!(text.contains("One\n---\nhttps://one.example/\n"), "{text}");
}

#[test]
fn nested_lists_keep_markers_numbers_and_hanging_indents() {
    let long = "가나다라 마바사아 자차카타 파하 ".repeat(6);
    let nested = Block::List(List {
        start: Some(9),
        items: vec![vec![para(vec![t(&long)])], vec![para(vec![t("ten")])]],
    });
    let list = Block::List(List {
        start: None,
        items: vec![vec![para(vec![t(&long)]), nested]],
    });
    let text = prepare(&issue("Lists", vec![article("L", None, vec![list])]), &cfg(""))
        .unwrap()
        .text(&READER);
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| l.starts_with("- 가나다라")).expect(&text);
    assert!(lines[first + 1].starts_with("  가"), "{text}");
    let nine = lines.iter().position(|l| l.starts_with("   9. 가나다라")).expect(&text);
    assert!(lines[nine + 1].starts_with("      가"), "{text}");
    assert!(lines.contains(&"  10. ten"), "{text}");
    for l in &lines {
        assert!(display_width(l) <= 72, "{l:?}");
    }
}

#[test]
fn personal_values_are_escaped_and_fallbacks_follow_the_config() {
    let i = issue("Plain", vec![article("A", None, vec![])]);
    let p = prepare(&i, &cfg("unsubscribe_mailto = \"unsubscribe@example.com\"")).unwrap();
    let html = p.html(&READER);
    assert!(
        html.contains("href=\"https://example.com/u?token=abc&amp;x=1\""),
        "{html}"
    );
    assert!(html.contains("Reader &lt;reader@example.com&gt;"), "{html}");
    let no_token = Personal {
        unsubscribe_url: None,
        ..READER
    };
    let html = p.html(&no_token);
    assert!(
        html.contains("mailto:unsubscribe@example.com?subject=unsubscribe"),
        "{html}"
    );
    assert!(!html.contains("token="), "{html}");
    let text = prepare(&i, &cfg("")).unwrap().text(&no_token);
    assert!(text.contains("Reply to this email to unsubscribe."), "{text}");
}

#[test]
fn archive_url_and_korean_labels() {
    let mut i = issue("아티클 위클리", vec![article("한국어 제목", None, vec![])]);
    i.lang = "ko".into();
    let p = prepare(&i, &cfg("archive_url = \"https://example.com/weekly/{id}/\"")).unwrap();
    let html = p.html(&READER);
    assert!(html.contains("<html lang=\"ko\" dir=\"ltr\""), "{}", &html[..200]);
    assert!(
        html.contains("href=\"https://example.com/weekly/test-issue/\""),
        "{html}"
    );
    assert!(html.contains("브라우저에서 보기"));
    let text = p.text(&READER);
    assert!(
        text.contains("브라우저에서 보기:\nhttps://example.com/weekly/test-issue/\n"),
        "{text}"
    );
    assert!(
        text.contains("구독 취소:\nhttps://example.com/u?token=abc&x=1\n"),
        "{text}"
    );
}

#[test]
fn size_estimate_tracks_the_html() {
    let p = prepare(
        &issue("S", vec![article("A", None, vec![para(vec![t(&"x".repeat(200_000))])])]),
        &cfg(""),
    )
    .unwrap();
    let size = p.html(&READER).len();
    assert!(p.html_size_estimate() >= size && p.html_size_estimate() < size + 1024);
    assert!(p.clip_warning().is_some());
    let small = prepare(&issue("S", vec![]), &cfg("")).unwrap();
    assert!(small.clip_warning().is_none());
}
