//! The HTML body: issue blocks rendered to escaped markup, and the askama
//! template that lays them out (templates/email.html).

use super::personal::Slots;
use super::view::{allowed_url, article_url, IssueView, LinkView};
use crate::issue::{Block, Inline, Issue};
use askama::Template;

#[derive(Template)]
#[template(path = "email.html")]
pub struct EmailHtml<'a> {
    pub v: &'a IssueView,
    pub preheader: String,
    pub intro: Option<SectionHtml>,
    pub articles: Vec<ArticleHtml<'a>>,
    pub slots: &'a Slots,
}

pub struct SectionHtml {
    pub title: String,
    /// Already escaped markup: the only value the template marks `|safe`.
    pub body: String,
}

pub struct ArticleHtml<'a> {
    pub anchor: String,
    pub title: String,
    pub url: Option<String>,
    /// Already escaped markup: the only value the template marks `|safe`.
    pub body: String,
    pub related: &'a [LinkView],
}

impl<'a> EmailHtml<'a> {
    pub fn new(issue: &Issue, v: &'a IssueView, slots: &'a Slots) -> Self {
        let articles = issue
            .articles
            .iter()
            .zip(&v.related)
            .enumerate()
            .map(|(i, (a, related))| ArticleHtml {
                anchor: format!("article-{}", i + 1),
                title: super::view::one_line(&a.title),
                url: article_url(a),
                body: blocks_html(&a.blocks),
                related,
            })
            .collect();
        let intro = issue.intro.as_ref().map(|s| SectionHtml {
            title: super::view::one_line(&s.title),
            body: blocks_html(&s.blocks),
        });
        EmailHtml {
            v,
            preheader: preheader(issue),
            intro,
            articles,
            slots,
        }
    }
}

/// The hidden preview line mail clients show next to the subject.
fn preheader(issue: &Issue) -> String {
    let titles: Vec<String> = issue.articles.iter().map(|a| super::view::one_line(&a.title)).collect();
    let mut line = titles.join(" · ");
    if line.chars().count() > 150 {
        line = line.chars().take(149).collect::<String>() + "…";
    }
    line
}

/// Escapes text for HTML text and attribute values alike.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Renders blocks as markup; every piece of issue text goes through [`escape_into`].
pub fn blocks_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        block_html(&mut out, b);
    }
    out
}

fn block_html(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(inlines) => {
            out.push_str("<p>");
            inlines_html(out, inlines, true);
            out.push_str("</p>\n");
        }
        Block::Heading { level, content } => {
            let tag = if *level <= 3 { "h3" } else { "h4" };
            out.push_str(&format!("<{tag}>"));
            inlines_html(out, content, true);
            out.push_str(&format!("</{tag}>\n"));
        }
        Block::List(list) => {
            let (open, close) = match list.start {
                Some(1) => ("<ol>".to_string(), "</ol>\n"),
                Some(n) => (format!("<ol start=\"{n}\">"), "</ol>\n"),
                None => ("<ul>".to_string(), "</ul>\n"),
            };
            out.push_str(&open);
            out.push('\n');
            for (i, item) in list.items.iter().enumerate() {
                // `value` too: some clients ignore `start` on the list.
                match list.start {
                    Some(n) => out.push_str(&format!("<li value=\"{}\">", n + i as u64)),
                    None => out.push_str("<li>"),
                }
                item_html(out, item);
                out.push_str("</li>\n");
            }
            out.push_str(close);
        }
        Block::CodeBlock { code, .. } => {
            out.push_str("<pre><code>");
            escape_into(out, super::view::keep_lines(code).trim_end_matches('\n'));
            out.push_str("</code></pre>\n");
        }
        Block::BlockQuote(inner) => {
            out.push_str("<blockquote>\n");
            for b in inner {
                block_html(out, b);
            }
            out.push_str("</blockquote>\n");
        }
        Block::Rule => out.push_str("<hr>\n"),
    }
}

/// A tight item's lead paragraph is written bare so the item has no paragraph margins.
fn item_html(out: &mut String, item: &[Block]) {
    let paragraphs = item.iter().filter(|b| matches!(b, Block::Paragraph(_))).count();
    for (i, b) in item.iter().enumerate() {
        match b {
            Block::Paragraph(inlines) if paragraphs == 1 && i == 0 => inlines_html(out, inlines, true),
            _ => block_html(out, b),
        }
    }
}

/// `links`: false inside an element that is already a link.
pub fn inlines_html(out: &mut String, inlines: &[Inline], links: bool) {
    for inline in inlines {
        match inline {
            Inline::Text(t) => escape_into(out, t),
            Inline::Code(c) => {
                out.push_str("<code>");
                escape_into(out, c);
                out.push_str("</code>");
            }
            Inline::Emphasis(c) => wrap(out, "em", c, links),
            Inline::Strong(c) => wrap(out, "strong", c, links),
            Inline::Strikethrough(c) => wrap(out, "s", c, links),
            Inline::Link { url, content } => match allowed_url(url).filter(|_| links) {
                Some(url) => {
                    out.push_str("<a href=\"");
                    escape_into(out, url);
                    out.push_str("\">");
                    inlines_html(out, content, false);
                    out.push_str("</a>");
                }
                None => inlines_html(out, content, links),
            },
            Inline::LineBreak => out.push_str("<br>\n"),
        }
    }
}

fn wrap(out: &mut String, tag: &str, content: &[Inline], links: bool) {
    out.push_str(&format!("<{tag}>"));
    inlines_html(out, content, links);
    out.push_str(&format!("</{tag}>"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::List;

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn numbered_lists_keep_their_numbers() {
        let list = Block::List(List {
            start: Some(3),
            items: vec![
                vec![Block::Paragraph(vec![text("c")])],
                vec![Block::Paragraph(vec![text("d")])],
            ],
        });
        let html = blocks_html(&[list]);
        assert!(html.contains("<ol start=\"3\">"), "{html}");
        assert!(html.contains("<li value=\"4\">d</li>"), "{html}");
    }

    #[test]
    fn disallowed_schemes_render_text_only() {
        let mut out = String::new();
        let link = |url: &str| Inline::Link {
            url: url.into(),
            content: vec![text("click")],
        };
        inlines_html(
            &mut out,
            &[link("javascript:alert(1)"), text(" "), link("mailto:a@b.c")],
            true,
        );
        assert_eq!(out, "click <a href=\"mailto:a@b.c\">click</a>");
    }

    #[test]
    fn raw_html_is_escaped() {
        let html = blocks_html(&[Block::Paragraph(vec![text(
            "<script>x</script><img src=x onerror=alert(1)> & Result<T, E>",
        )])]);
        assert_eq!(
            html,
            "<p>&lt;script&gt;x&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; Result&lt;T, E&gt;</p>\n"
        );
    }
}
