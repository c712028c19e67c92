//! An HTML block of a post as model blocks, for the text body: paragraphs,
//! lists, quotes, code, links and images survive; other tags give way to
//! their text; scripts, styles and embeds vanish. Parsed with html5ever
//! (through scraper), as a browser would.

use crate::issue::{Block, Inline, List, CONTENT_DROPPED};
use scraper::node::Node;
use scraper::{ElementRef, Html};

/// Deeper nesting is read as plain text, so no input can exhaust the stack.
const MAX_DEPTH: usize = 32;

const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "p",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
];

pub fn to_blocks(html: &str) -> Vec<Block> {
    let doc = Html::parse_fragment(html);
    let mut c = Converter::default();
    c.children(doc.root_element(), 0);
    c.flush();
    c.blocks
}

#[derive(Default)]
struct Converter {
    blocks: Vec<Block>,
    inlines: Vec<Inline>,
}

impl Converter {
    fn flush(&mut self) {
        let inlines = std::mem::take(&mut self.inlines);
        let empty = inlines
            .iter()
            .all(|i| matches!(i, Inline::Text(t) if t.trim().is_empty()));
        if !empty {
            self.blocks.push(Block::Paragraph(trim(inlines)));
        }
    }

    fn children(&mut self, el: ElementRef<'_>, depth: usize) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => push_text(&mut self.inlines, t),
                Node::Element(_) => {
                    if let Some(e) = ElementRef::wrap(child) {
                        self.element(e, depth + 1);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, el: ElementRef<'_>, depth: usize) {
        let name = el.value().name();
        if CONTENT_DROPPED.contains(&name) {
            return;
        }
        if depth > MAX_DEPTH {
            push_text(&mut self.inlines, &el.text().collect::<String>());
            return;
        }
        match name {
            "br" => self.inlines.push(Inline::LineBreak),
            "img" => self.inlines.push(Inline::Image {
                url: el.value().attr("src").unwrap_or_default().to_string(),
                alt: el.value().attr("alt").unwrap_or_default().to_string(),
                title: None,
                width: None,
                height: None,
            }),
            "a" | "b" | "strong" | "i" | "em" | "s" | "del" => {
                let mut inner = Converter::default();
                inner.children(el, depth);
                let content = inner.inlines;
                self.inlines.push(match name {
                    "a" => Inline::Link {
                        url: el.value().attr("href").unwrap_or_default().to_string(),
                        content,
                    },
                    "b" | "strong" => Inline::Strong(content),
                    "i" | "em" => Inline::Emphasis(content),
                    _ => Inline::Strikethrough(content),
                });
            }
            "code" => self.inlines.push(Inline::Code(el.text().collect())),
            "pre" => {
                self.flush();
                self.blocks.push(Block::CodeBlock {
                    lang: None,
                    code: el.text().collect(),
                });
            }
            "blockquote" | "ul" | "ol" => {
                self.flush();
                let block = self.container(el, name, depth);
                self.blocks.push(block);
            }
            "td" | "th" => {
                self.children(el, depth);
                self.inlines.push(Inline::Text(" | ".into()));
            }
            _ if BLOCKS.contains(&name) => {
                self.flush();
                self.children(el, depth);
                if name == "tr" {
                    strip_trailing_separator(&mut self.inlines);
                }
                self.flush();
            }
            _ => self.children(el, depth),
        }
    }

    fn container(&mut self, el: ElementRef<'_>, name: &str, depth: usize) -> Block {
        if name == "blockquote" {
            let mut inner = Converter::default();
            inner.children(el, depth);
            inner.flush();
            return Block::BlockQuote(inner.blocks);
        }
        let mut items = Vec::new();
        for li in el.children().filter_map(ElementRef::wrap) {
            let mut inner = Converter::default();
            inner.children(li, depth + 1);
            inner.flush();
            items.push(inner.blocks);
        }
        Block::List(List {
            start: (name == "ol").then_some(1),
            items,
        })
    }
}

/// Whitespace runs collapse to one space, as in a browser.
fn push_text(inlines: &mut Vec<Inline>, t: &str) {
    let mut s: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.starts_with(char::is_whitespace) && !s.is_empty() {
        s.insert(0, ' ');
    }
    if t.ends_with(char::is_whitespace) && !t.trim().is_empty() {
        s.push(' ');
    }
    if s.is_empty() && !t.is_empty() {
        s.push(' ');
    }
    match inlines.last_mut() {
        Some(Inline::Text(prev)) => {
            if !(prev.ends_with(' ') && s == " ") {
                prev.push_str(&s);
            }
        }
        _ => inlines.push(Inline::Text(s)),
    }
}

fn strip_trailing_separator(inlines: &mut [Inline]) {
    if let Some(Inline::Text(t)) = inlines.last_mut() {
        while let Some(stripped) = t.strip_suffix(" | ").or_else(|| t.strip_suffix(" |")) {
            *t = stripped.to_string();
        }
    }
}

fn trim(mut inlines: Vec<Inline>) -> Vec<Inline> {
    if let Some(Inline::Text(t)) = inlines.first_mut() {
        *t = t.trim_start().to_string();
    }
    if let Some(Inline::Text(t)) = inlines.last_mut() {
        *t = t.trim_end().to_string();
    }
    inlines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &Block) -> String {
        crate::issue::Inline::plain_text(match b {
            Block::Paragraph(i) => i,
            _ => panic!("{b:?}"),
        })
    }

    #[test]
    fn blocks_links_and_dropped_content() {
        let blocks = to_blocks(
            "<details open><summary>Blogs corner</summary>\n<p>Read <a href=\"https://e.example/\">this</a>.</p></details><iframe src=\"x\">no</iframe><script>x()</script>",
        );
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert_eq!(text(&blocks[0]), "Blogs corner");
        assert_eq!(text(&blocks[1]), "Read this.");
        let Block::Paragraph(p) = &blocks[1] else { panic!() };
        assert!(matches!(&p[1], Inline::Link { url, .. } if url == "https://e.example/"));
    }

    #[test]
    fn lists_tables_and_deep_nesting() {
        let blocks = to_blocks("<ul><li>a</li><li>b</li></ul><table><tr><td>x</td><td>y</td></tr></table>");
        assert!(matches!(&blocks[0], Block::List(l) if l.items.len() == 2));
        assert_eq!(text(&blocks[1]), "x | y");
        let deep = format!("{}deep{}", "<div>".repeat(5000), "</div>".repeat(5000));
        let blocks = to_blocks(&deep);
        assert_eq!(text(&blocks[0]), "deep");
    }
}
