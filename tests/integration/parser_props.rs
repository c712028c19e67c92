//! Property tests: the parser never panics, on random text or on random
//! mutations of a well-formed issue, and whatever it accepts renders. `.ci/run` raises the case count with
//! `PROPTEST_CASES=5000 cargo test --test integration parser_props`.

use newsletter::issue;
use proptest::prelude::*;
use std::path::Path;

const SEED: &str = "+++ \ndate = 2026-11-23T09:00:00+09:00\ntitle = \"Field Notes Weekly, Issue 47\"\n\
tags = [\"a\"]\n+++\n\n## Period\n\n`2026-11-15` ~ `2026-11-21`\n\n## 개요\n\n- [Link](https://example.com/a) 소개\n\n\
## **Bold `code` title**\n\n- 레포지토리(https://example.org/x)가 있음\n  - nested http://example.net/y.\n    1. one\n    2. two\n\n\
```rust\nfn main() {}\n```\n\n> quote <b>html</b> ![alt](https://example.com/i.png)\n\n## References\n\n\
- https://example.com/a\n  - [related](https://example.com/b)\n";

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

fn check(text: &str) {
    match issue::parse(Path::new("p.md"), text) {
        Ok(p) => {
            for a in &p.issue.articles {
                assert!(a.line >= 1);
            }
            render(&p.issue);
            for w in &p.warnings {
                assert!(!w.is_error() && w.line >= 1, "{w}");
            }
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            assert!(diags.iter().all(|d| d.is_error() && !d.message.is_empty()));
        }
    }
}

/// Whatever parses renders, and the HTML carries no script.
fn render(issue: &issue::Issue) {
    let cfg = newsletter::config::parse(
        Path::new("n.toml"),
        "[newsletter]\nname = \"N\"\nfrom = \"N <n@example.com>\"\narchive_url = \"https://example.com/{id}/\"\n",
    )
    .unwrap();
    let prepared = newsletter::render::prepare(issue, &cfg).expect("renders");
    let reader = newsletter::render::Personal {
        name: Some("R"),
        email: "r@example.com",
        unsubscribe_url: None,
        attributes: &[],
    };
    let html = prepared.html(&reader);
    let _ = prepared.text(&reader);
    let doc = scraper::Html::parse_document(&html);
    let script = scraper::Selector::parse("script, iframe, [onerror], [onclick]").unwrap();
    assert_eq!(doc.select(&script).count(), 0, "{html}");
}

/// Markdown built from pieces that exercise raw HTML, tables, footnotes,
/// images and tasks.
fn pieces() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "<span class=\"x\">",
        "</span>",
        "<b>",
        "</b>",
        "<br>",
        "<a href=\"https://e.example/\">",
        "</a>",
        "<a href=\"javascript:alert(1)\">",
        "<img src=\"p.png\" alt=\"p\">",
        "<img src=x onerror=alert(1)>",
        "<!-- more -->",
        "<!--",
        "-->",
        "<details>",
        "<iframe src=\"x\">",
        "<script>alert(1)</script>",
        "\n\n<div>\n",
        "\n</div>\n\n",
        "| a | b |\n|---|--:|\n| 1 | 2 |\n",
        "[^1]",
        "\n\n[^1]: note\n",
        "![alt](https://e.example/i.png)",
        "![](rel.png)",
        "- [x] done\n",
        "- [ ] open\n",
        "\n## H\n\n",
        "> ",
        "- ",
        "1. ",
        "`code`",
        "{{< shortcode >}}",
        "text ",
        "한국어 ",
        "\n",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Maps `i` to a char boundary of `s`.
fn boundary(s: &str, i: usize) -> usize {
    floor(s, i % (s.len() + 1))
}

fn floor(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn markdownish() -> impl Strategy<Value = String> {
    "[-+#`*_\\[\\]()<>!~|&;:/. \n\t가나a1hpst=\"\\\\]{0,120}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parser_props_random_text(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn parser_props_html_tables_footnotes_images(body in pieces()) {
        check(&format!("+++\ntitle = \"x\"\ndate = 2026-01-01\n+++\n{body}"));
    }

    #[test]
    fn parser_props_random_markdown_body(body in markdownish()) {
        check(&format!("+++\ntitle = \"x\"\ndate = 2026-01-01\n+++\n{body}"));
        check(&format!("---\ntitle: x\ndate: 2026-01-01\n---\n{body}"));
    }

    #[test]
    fn parser_props_mutated_issue(ops in prop::collection::vec((0u8..4, any::<usize>(), any::<usize>(), markdownish()), 1..8)) {
        let mut text = SEED.to_string();
        for (op, a, b, s) in ops {
            let i = boundary(&text, a);
            match op {
                0 => text.insert_str(i, &s),
                1 => {
                    let j = boundary(&text, b);
                    let (lo, hi) = (i.min(j), i.max(j));
                    let hi = floor(&text, hi.min(lo + 40));
                    text.replace_range(lo..hi, "");
                }
                2 => {
                    let lines: Vec<&str> = text.lines().collect();
                    let n = a % lines.len().max(1);
                    let mut out: Vec<&str> = lines.clone();
                    if let Some(l) = lines.get(n) { out.insert(n, l); }
                    text = out.join("\n");
                }
                _ => {
                    let j = boundary(&text, b);
                    let piece: String = text[i.min(j)..i.max(j)].chars().take(30).collect();
                    text.insert_str(boundary(&text, b), &piece);
                }
            }
        }
        check(&text);
    }
}

#[test]
fn the_seed_itself_parses() {
    let p = issue::parse(Path::new("p.md"), SEED).unwrap();
    assert_eq!(p.issue.articles.len(), 1);
    assert_eq!(p.issue.articles[0].title, "Bold code title");
    assert_eq!(p.issue.articles[0].url.as_deref(), Some("https://example.com/a"));
}
