//! Unit tests of the markdown → blocks folding (kept apart to keep markdown.rs short).

use super::*;
use crate::issue::model::{Align, List, Table};

fn blocks(src: &str) -> Vec<Block> {
    parse(src)
        .items
        .into_iter()
        .map(|l| match l.top {
            Top::Block(b) => b,
            Top::Heading { level, content } => Block::Heading { level, content },
        })
        .collect()
}

fn text(s: &str) -> Inline {
    Inline::Text(s.into())
}

#[test]
fn tight_nested_lists_become_items_of_paragraphs() {
    let got = blocks("- a\n  1. b\n  2. c\n");
    let inner = Block::List(List {
        start: Some(1),
        items: vec![
            vec![Block::Paragraph(vec![text("b")])],
            vec![Block::Paragraph(vec![text("c")])],
        ],
    });
    let want = Block::List(List {
        start: None,
        items: vec![vec![Block::Paragraph(vec![text("a")]), inner]],
    });
    assert_eq!(got, [want]);
}

#[test]
fn allowed_inline_html_is_kept_other_html_is_blocks_and_angle_words_are_text() {
    let got = blocks("a <b>x</b> Result<T, E>의 List<String> ![alt](https://e.example/i.png)\n\n<div>\nhi\n</div>\n");
    assert_eq!(
        got,
        [
            Block::Paragraph(vec![
                text("a "),
                Inline::Html("<b>".into()),
                text("x"),
                Inline::Html("</b>".into()),
                text(" Result<T, E>의 List<String> "),
                Inline::Image {
                    url: "https://e.example/i.png".into(),
                    alt: "alt".into(),
                    title: None,
                    width: None,
                    height: None,
                },
            ]),
            Block::Html("<div>\nhi\n</div>".into()),
        ]
    );
}

#[test]
fn html_links_images_breaks_and_comments() {
    let body = parse(
        "Lead <!-- more -->\n\nSee <a href=\"https://e.example/\">_the form_</a> <img src=\"p.png\" alt=\"P\" width=\"128\">\nline<br/>two <iframe src=\"x\"></iframe>\n\n<!--\n- hidden item\n-->\n",
    );
    assert_eq!(body.more_at, Some(5));
    let got: Vec<Block> = body
        .items
        .into_iter()
        .map(|l| match l.top {
            Top::Block(b) => b,
            Top::Heading { .. } => panic!("no headings"),
        })
        .collect();
    assert_eq!(
        got,
        [
            Block::Paragraph(vec![text("Lead")]),
            Block::Paragraph(vec![
                text("See "),
                Inline::Link {
                    url: "https://e.example/".into(),
                    content: vec![Inline::Emphasis(vec![text("the form")])],
                },
                text(" "),
                Inline::Image {
                    url: "p.png".into(),
                    alt: "P".into(),
                    title: None,
                    width: Some(128),
                    height: None,
                },
                text(" line"),
                Inline::LineBreak,
                text("two"),
            ]),
        ]
    );
    assert_eq!(body.notes, [(119, Note::DroppedHtml("iframe".into()))]);
}

#[test]
fn tables_footnotes_tasks_and_code_language() {
    let got = blocks("| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```rust title\nfn x() {}\n```\n\n- [x] done\n- [ ] open\n");
    assert_eq!(
        got[..2],
        [
            Block::Table(Table {
                aligns: vec![Align::Left, Align::Right],
                head: vec![vec![text("a")], vec![text("b")]],
                rows: vec![vec![vec![text("1")], vec![text("2")]]],
            }),
            Block::CodeBlock {
                lang: Some("rust".into()),
                code: "fn x() {}\n".into()
            },
        ]
    );
    let Block::List(l) = &got[2] else { panic!("{got:?}") };
    assert_eq!(l.items[0], [Block::Paragraph(vec![Inline::Task(true), text("done")])]);
    let body = parse("A[^b] and B[^a].\n\n[^a]: first defined\n[^b]: second defined\n[^c]: never used\n");
    let Top::Block(Block::Paragraph(p)) = &body.items[0].top else {
        panic!()
    };
    assert_eq!(p[1], Inline::FootnoteRef(1));
    assert_eq!(p[3], Inline::FootnoteRef(2));
    let labels: Vec<(usize, &str)> = body.footnotes.iter().map(|f| (f.number, f.label.as_str())).collect();
    assert_eq!(labels, [(1, "b"), (2, "a"), (3, "c")]);
}

#[test]
fn template_syntax_is_noted() {
    let body = parse("Hi {{> email}} and `{{ code }}`\n");
    assert_eq!(body.notes, [(3, Note::TemplateSyntax("{{> email}}".into()))]);
}

#[test]
fn cjk_flanking_bold_stays_literal_and_strikethrough_works() {
    assert_eq!(
        blocks("**적시성(timeliness)**임"),
        [Block::Paragraph(vec![text("**적시성(timeliness)**임")])]
    );
    assert_eq!(
        blocks("~~old~~ 10~100배"),
        [Block::Paragraph(vec![
            Inline::Strikethrough(vec![text("old")]),
            text(" 10~100배")
        ])]
    );
}

#[test]
fn bare_urls_in_a_list_item_are_linked_and_located() {
    let body = parse("- 레포지토리(https://github.com/meta-llama/llama3)가\n");
    assert_eq!(
        body.links,
        [LinkSite {
            url: "https://github.com/meta-llama/llama3".into(),
            offset: "- 레포지토리(".len()
        }]
    );
}

#[test]
fn deep_nesting_is_refused_before_it_is_folded() {
    // `parse` relies on its callers (issue bodies, theme snippets) running
    // `nesting::check` with the same options first.
    let src = format!("{}deep list\n\n{}deep quote\n", "- ".repeat(5000), "> ".repeat(5000));
    assert!(super::super::nesting::check(&src, options()).is_err());
}
