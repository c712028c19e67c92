//! Unit tests of the markdown → blocks folding (kept apart to keep markdown.rs short).

use super::*;

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
fn raw_html_is_text_and_images_are_links() {
    let got = blocks("a <b>x</b> Result<T, E>의 ![alt](https://e.example/i.png)\n\n<div>\nhi\n</div>\n");
    assert_eq!(
        got,
        [
            Block::Paragraph(vec![
                text("a <b>x</b> Result<T, E>의 "),
                Inline::Link {
                    url: "https://e.example/i.png".into(),
                    content: vec![text("alt")]
                },
            ]),
            Block::Paragraph(vec![text("<div>\nhi\n</div>\n")]),
        ]
    );
}

#[test]
fn tables_stay_paragraphs_and_code_keeps_its_language() {
    let got = blocks("| a | b |\n|---|---|\n\n```rust title\nfn x() {}\n```\n");
    assert_eq!(
        got,
        [
            Block::Paragraph(vec![text("| a | b | |---|---|")]),
            Block::CodeBlock {
                lang: Some("rust".into()),
                code: "fn x() {}\n".into()
            },
        ]
    );
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
