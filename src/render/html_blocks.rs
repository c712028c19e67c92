//! Issue blocks as HTML markup: every piece of issue text goes through
//! [`escape_into`]; raw HTML of the post is passed on as written, so the
//! result must go through `sanitize::Sanitizer` before it reaches a template.

use super::view::{keep_lines, resolve_url};
use crate::i18n::Labels;
use crate::issue::{Align, Block, Inline, Table};
use ammonia::Url;

/// The widest an image may be drawn: the 600 px column less its padding.
pub const CONTENT_WIDTH: u32 = 536;

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

/// What markup depends on besides the blocks: where relative URLs point and
/// the words screen readers hear for task boxes.
#[derive(Clone, Copy)]
pub struct HtmlWriter<'a> {
    pub base: Option<&'a Url>,
    pub labels: &'a Labels,
}

impl HtmlWriter<'_> {
    /// Renders blocks as (unsanitized) markup.
    pub fn blocks(&self, blocks: &[Block]) -> String {
        let mut out = String::new();
        for b in blocks {
            self.block(&mut out, b);
        }
        out
    }

    /// A list item's or footnote's blocks: a lone lead paragraph is written
    /// bare, so the item has no paragraph margins.
    pub fn item(&self, out: &mut String, item: &[Block]) {
        let paragraphs = item.iter().filter(|b| matches!(b, Block::Paragraph(_))).count();
        for (i, b) in item.iter().enumerate() {
            match b {
                Block::Paragraph(inlines) if paragraphs == 1 && i == 0 => self.inlines(out, inlines, true),
                _ => self.block(out, b),
            }
        }
    }

    fn block(&self, out: &mut String, block: &Block) {
        match block {
            Block::Paragraph(inlines) => {
                out.push_str("<p>");
                self.inlines(out, inlines, true);
                out.push_str("</p>\n");
            }
            Block::Heading { level, content } => {
                let tag = if *level <= 3 { "h3" } else { "h4" };
                out.push_str(&format!("<{tag}>"));
                self.inlines(out, content, true);
                out.push_str(&format!("</{tag}>\n"));
            }
            Block::List(list) => {
                match list.start {
                    Some(1) => out.push_str("<ol>\n"),
                    Some(n) => out.push_str(&format!("<ol start=\"{n}\">\n")),
                    None => out.push_str("<ul>\n"),
                }
                for (i, item) in list.items.iter().enumerate() {
                    // `value` too: some clients ignore `start` on the list.
                    match list.start {
                        Some(n) => out.push_str(&format!("<li value=\"{}\">", n + i as u64)),
                        None => out.push_str("<li>"),
                    }
                    self.item(out, item);
                    out.push_str("</li>\n");
                }
                out.push_str(if list.start.is_some() { "</ol>\n" } else { "</ul>\n" });
            }
            Block::CodeBlock { code, .. } => {
                out.push_str("<pre><code>");
                escape_into(out, keep_lines(code).trim_end_matches('\n'));
                out.push_str("</code></pre>\n");
            }
            Block::BlockQuote(inner) => {
                out.push_str("<blockquote>\n");
                for b in inner {
                    self.block(out, b);
                }
                out.push_str("</blockquote>\n");
            }
            Block::Rule => out.push_str("<hr>\n"),
            Block::Table(t) => self.table(out, t),
            Block::Html(raw) => {
                out.push_str(raw);
                out.push('\n');
            }
        }
    }

    /// A data table: a scrolling wrapper for phones, `align` attributes
    /// (which every client honours) and header cells with a scope.
    fn table(&self, out: &mut String, t: &Table) {
        out.push_str(
            "<div class=\"table-wrap\"><table cellpadding=\"0\" cellspacing=\"0\" border=\"0\" width=\"100%\">\n",
        );
        let align = |i: usize| match t.aligns.get(i).copied().unwrap_or(Align::None) {
            Align::None | Align::Left => "left",
            Align::Center => "center",
            Align::Right => "right",
        };
        if !t.head.is_empty() {
            out.push_str("<thead><tr>");
            for (i, cell) in t.head.iter().enumerate() {
                out.push_str(&format!("<th scope=\"col\" align=\"{}\">", align(i)));
                self.inlines(out, cell, true);
                out.push_str("</th>");
            }
            out.push_str("</tr></thead>\n");
        }
        out.push_str("<tbody>\n");
        for row in &t.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                out.push_str(&format!("<td align=\"{}\">", align(i)));
                self.inlines(out, cell, true);
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    }

    /// `links`: false inside an element that is already a link.
    pub fn inlines(&self, out: &mut String, inlines: &[Inline], links: bool) {
        for inline in inlines {
            match inline {
                Inline::Text(t) => escape_into(out, t),
                Inline::Code(c) => {
                    out.push_str("<code>");
                    escape_into(out, c);
                    out.push_str("</code>");
                }
                Inline::Emphasis(c) => self.wrap(out, "em", c, links),
                Inline::Strong(c) => self.wrap(out, "strong", c, links),
                Inline::Strikethrough(c) => self.wrap(out, "s", c, links),
                Inline::Link { url, content } => match resolve_url(self.base, url).filter(|_| links) {
                    Some(url) => {
                        out.push_str("<a href=\"");
                        escape_into(out, &url);
                        out.push_str("\">");
                        self.inlines(out, content, false);
                        out.push_str("</a>");
                    }
                    None => self.inlines(out, content, links),
                },
                Inline::LineBreak => out.push_str("<br>\n"),
                Inline::Image {
                    url,
                    alt,
                    title,
                    width,
                    height,
                } => self.image(out, url, alt, title.as_deref(), (*width, *height)),
                Inline::Html(tag) => out.push_str(tag),
                Inline::FootnoteRef(n) => {
                    out.push_str(&format!("<sup class=\"fnref\"><a href=\"#fn-{n}\">{n}</a></sup>"))
                }
                Inline::Task(done) => {
                    let (glyph, label) = if *done {
                        ("\u{2611}", &self.labels.task_done)
                    } else {
                        ("\u{2610}", &self.labels.task_open)
                    };
                    out.push_str("<span class=\"task\" role=\"img\" aria-label=\"");
                    escape_into(out, label);
                    out.push_str(&format!("\">{glyph}</span> "));
                }
            }
        }
    }

    /// An `<img>` no wider than the column (the stylesheet adds
    /// `max-width:100%`); a source mail cannot load shows its alt text.
    fn image(&self, out: &mut String, url: &str, alt: &str, title: Option<&str>, size: (Option<u32>, Option<u32>)) {
        let Some(src) = resolve_url(self.base, url).filter(|u| !u.starts_with("mailto:")) else {
            escape_into(out, alt);
            return;
        };
        out.push_str("<img src=\"");
        escape_into(out, &src);
        out.push_str("\" alt=\"");
        escape_into(out, alt);
        out.push('"');
        if let Some(t) = title {
            out.push_str(" title=\"");
            escape_into(out, t);
            out.push('"');
        }
        match size {
            (Some(w), Some(h)) => {
                let shown = w.min(CONTENT_WIDTH);
                let h = (u64::from(h) * u64::from(shown) / u64::from(w)).max(1);
                out.push_str(&format!(" width=\"{shown}\" height=\"{h}\""));
            }
            (Some(w), None) => out.push_str(&format!(" width=\"{}\"", w.min(CONTENT_WIDTH))),
            _ => {}
        }
        out.push('>');
    }

    fn wrap(&self, out: &mut String, tag: &str, content: &[Inline], links: bool) {
        out.push_str(&format!("<{tag}>"));
        self.inlines(out, content, links);
        out.push_str(&format!("</{tag}>"));
    }
}
