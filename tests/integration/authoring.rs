//! Posts from other site generators: every post of the three other series in
//! the corpus parses and renders (or fails with one clear line), and a Hugo
//! content folder with page bundles, list pages, Jekyll and Pelican posts is
//! read as issues.

use crate::harness::{corpus, other_posts, Sandbox};
use crate::render::checks::{check_bodies, code_lines};
use crate::render::{example_config, READER};
use newsletter::issue::{self, Block, Inline};
use newsletter::render::prepare;

#[test]
fn every_other_series_post_parses_and_renders_or_fails_with_one_line() {
    let Some(corpus) = corpus() else { return };
    let cfg = example_config();
    let files = other_posts(&corpus);
    assert_eq!(files.len(), 19, "{files:#?}");
    let mut failed = Vec::new();
    for path in &files {
        let parsed = match issue::from_file(path) {
            Ok(p) => p,
            Err(diags) => {
                assert_eq!(diags.len(), 1, "{}: {diags:#?}", path.display());
                failed.push(diags[0].to_string());
                continue;
            }
        };
        let i = parsed.issue;
        assert!(
            !i.front.title.is_empty() && !i.articles.is_empty(),
            "{}",
            path.display()
        );
        let prepared = prepare(&i, &cfg).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        let (html, text) = (prepared.html(&READER), prepared.text(&READER));
        check_bodies(&i, &html, &text, &code_lines(&i));
        // Comments and tags are not shown as text (code blocks show code).
        let prose_html = without_code(&html);
        let code = code_lines(&i);
        assert!(!prose_html.contains("&lt;!--"), "{}: comment shown", path.display());
        assert!(
            !prose_html.contains("&lt;span") && !prose_html.contains("&lt;img"),
            "{}: tag shown",
            path.display()
        );
        for line in text.lines().filter(|l| l.contains("<!--")) {
            assert!(
                code.iter().any(|c| c.trim() == line.trim()),
                "{}: {line:?}",
                path.display()
            );
        }
        let flat_text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for b in &i.lead {
            let words = newsletter::issue::Inline::plain_text(match b {
                Block::Paragraph(p) => p,
                _ => continue,
            });
            let first: String = words.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
            assert!(flat_text.contains(&first), "{}: lead {first:?} missing", path.display());
        }
    }
    // Pelican's 2013 post has a local time without an offset: one clear line.
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].ends_with(
            "2013-06-07-this-week-in-rust.markdown:2:1: error: front matter `date`: `2013-06-07 18:46` has no UTC offset\n  hint: write an offset date-time like 2026-11-23T09:00:00+09:00, or a bare date like 2026-11-23"
        ),
        "{}",
        failed[0]
    );
}

/// The HTML without its `<pre>` blocks.
fn without_code(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<pre") {
        out.push_str(&rest[..start]);
        rest = rest[start..].split_once("</pre>").map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

#[test]
fn other_series_front_matter_is_read_per_generator() {
    let Some(corpus) = corpus() else { return };
    let other = corpus.join("other");
    // Zola: `+++` TOML with [extra]; the lead before `<!-- more -->` is the summary.
    let z = issue::from_file(&other.join("this-month-in-rust-osdev/2024-06.md"))
        .unwrap()
        .issue;
    assert_eq!(z.front.title, "This Month in Rust OSDev: June 2024");
    assert_eq!(z.front.extra["month"], "June 2024");
    assert_eq!(z.front.date.to_rfc3339(), "2024-07-10T00:00:00+00:00");
    assert!(
        z.summary.as_deref().unwrap().starts_with("Welcome to a new issue of"),
        "{:?}",
        z.summary
    );
    assert!(!z.lead.is_empty());
    // Eleventy: capitalised YAML keys, `Issue` as the number, date from the file name.
    let e = issue::from_file(&other.join("this-week-in-htmx/2021-10-24.md"))
        .unwrap()
        .issue;
    assert_eq!(
        (e.front.title.as_str(), e.number),
        ("Three out of Thirty Nine", Some(2))
    );
    assert_eq!(e.front.date.date_naive().to_string(), "2021-10-24");
    assert_eq!(e.front.authors, ["Deniz Akşimşek <https://denizaksimsek.com>"]);
    // Pelican: `Key: value` header, `Number`, `Category`.
    let p = issue::from_file(&other.join("this-week-in-rust/2024-06-19-this-week-in-rust.md"))
        .unwrap()
        .issue;
    assert_eq!((p.front.title.as_str(), p.number), ("This Week in Rust 552", Some(552)));
    assert_eq!(p.front.categories, ["This Week in Rust"]);
    assert_eq!(p.series_name(), "This Week in Rust");
    assert!(Inline::plain_text(match &p.lead[0] {
        Block::Paragraph(i) => i,
        b => panic!("{b:?}"),
    })
    .starts_with("Hello and welcome to another issue"));
    // Jekyll file name, GFM tables with alignment.
    let t = issue::from_file(&other.join("this-week-in-rust/2024-10-02-this-week-in-rust.md"))
        .unwrap()
        .issue;
    let tables = t
        .articles
        .iter()
        .flat_map(|a| &a.blocks)
        .filter(|b| matches!(b, Block::Table(_)))
        .count();
    assert!(tables >= 1, "the performance triage table");
}

const HUGO_BUNDLE: &str = "+++\nTitle = \"Field Notes Weekly, Issue 52\"\nDate = 2026-12-28T09:00:00+09:00\n+++\n\nA lead paragraph.\n\n## One\n\n![A pixel](pixel.gif)\n\n## Two\n\n- text\n";
const HUGO_LIST: &str = "+++\ntitle = \"All issues\"\n+++\n";
const JEKYLL: &str = "---\ntitle: A Jekyll post\npublished: false\n---\n\n## Only\n\nText.\n";
const PELICAN: &str = "Title: A Pelican post\nDate: 2026-12-01 10:00 +09:00\nTags: a, b\n\n## Only\n\nText.\n";

#[test]
fn a_hugo_content_folder_with_bundles_list_pages_and_other_generators() {
    let sb = Sandbox::example();
    std::fs::remove_dir_all(sb.path("issues")).unwrap();
    sb.write("issues/_index.md", HUGO_LIST);
    sb.write("issues/issue-52/index.md", HUGO_BUNDLE);
    // A 3x2 GIF: its size comes from the file beside the issue.
    sb.write("issues/issue-52/pixel.gif", b"GIF89a\x03\x00\x02\x00\x00\x00\x00;");
    sb.write("issues/posts/2026-12-01-jekyll.md", JEKYLL);
    sb.write("issues/posts/pelican.md", PELICAN);
    let run = sb.run(&["check"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("checked 3 issues: 0 errors"), "{}", run.stdout);
    sb.run(&["send", "issues/issue-52/index.md", "--dry-run"])
        .expect_code(0);
    let eml = sb.read("outbox/issue-52/minji.kim@example.com.eml");
    let msg = mail_parser::MessageParser::default().parse(eml.as_bytes()).unwrap();
    let html = msg.body_html(0).unwrap();
    assert!(
        html.contains(
            "<img src=\"https://example.com/weekly/issue-52/pixel.gif\" alt=\"A pixel\" width=\"3\" height=\"2\""
        ),
        "{html}"
    );
    assert!(html.contains("A lead paragraph."), "{html}");
    let jekyll = issue::from_file(&sb.path("issues/posts/2026-12-01-jekyll.md"))
        .unwrap()
        .issue;
    assert_eq!(jekyll.front.date.date_naive().to_string(), "2026-12-01");
    assert!(jekyll.front.draft, "published: false is a draft");
    let pelican = issue::from_file(&sb.path("issues/posts/pelican.md")).unwrap().issue;
    assert_eq!(pelican.front.date.to_rfc3339(), "2026-12-01T10:00:00+09:00");
    assert_eq!(pelican.front.tags, ["a", "b"]);
}

#[test]
fn a_key_given_twice_in_different_case_is_an_error() {
    let sb = Sandbox::empty();
    let p = sb.write(
        "dup.md",
        "---\nTitle: A\ntitle: B\ndate: 2026-12-01\n---\n\n## x\n\ny\n",
    );
    let d = issue::from_file(&p).unwrap_err();
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0].message == "front matter: `title` repeats `Title` (keys are case-insensitive)",
        "{}",
        d[0]
    );
}
