//! Markdown body → plain blocks and inlines (pulldown-cmark events folded into
//! the model's tree). Only top-level items keep their byte offset: sections
//! are cut at top-level headings, and lines are found from there.
//! Raw HTML is read in `markdown_html.rs`.

use super::model::{Align, Block, Footnote, Inline, Table};
use pulldown_cmark::{Alignment, CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

#[path = "markdown_fold.rs"]
mod fold;
#[path = "markdown_html.rs"]
mod html;

/// A top-level piece of the body: a heading (a section boundary or not) or a block.
#[derive(Debug, Clone, PartialEq)]
pub enum Top {
    Heading { level: u8, content: Vec<Inline> },
    Block(Block),
}

/// A top-level item with its byte offset in the parsed text.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub offset: usize,
    pub top: Top,
}

/// A link target and where it is written (byte offset in the parsed text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSite {
    pub url: String,
    pub offset: usize,
}

/// Something the author wrote that mail shows differently, for `check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// An HTML element mail cannot show (`iframe`, `details`): its tags are dropped.
    DroppedHtml(String),
    /// `{{< figure >}}`, `{{> partial}}`, `{% include %}`: shown as text.
    TemplateSyntax(String),
    /// HTML nested deeper than `rawhtml::MAX_DEPTH`: shown as its text.
    TooDeep,
}

#[derive(Debug, Default)]
pub struct Body {
    pub items: Vec<Located>,
    pub links: Vec<LinkSite>,
    pub footnotes: Vec<Footnote>,
    /// Offset of the `<!-- more -->` summary marker.
    pub more_at: Option<usize>,
    pub notes: Vec<(usize, Note)>,
}

/// GFM: strikethrough, tables, footnotes and task lists. No metadata blocks
/// (the front matter is split off before this runs). `nesting::check` reads
/// the text with the same options.
pub(super) fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_TASKLISTS
}

enum InlineKind {
    Paragraph,
    /// The text of a tight list item, or stray inline events (raw HTML):
    /// pulldown-cmark sends no Paragraph for these.
    Implicit,
    Heading(u8),
    Emphasis,
    Strong,
    Strikethrough,
    /// `html`: opened by an `<a href>` tag, closed by `</a>` or the enclosing block.
    Link {
        url: String,
        html: bool,
    },
    Image {
        url: String,
        title: Option<String>,
    },
    Cell,
}

enum Frame {
    Root,
    Item(Vec<Block>),
    Quote(Vec<Block>),
    Footnote(String, Vec<Block>),
    List { start: Option<u64>, items: Vec<Vec<Block>> },
    Table(Table),
    Row { head: bool, cells: Vec<Vec<Inline>> },
    Inlines { kind: InlineKind, inlines: Vec<Inline> },
    Code { lang: Option<String>, code: String },
    HtmlBlock(String),
}

struct Builder<'a> {
    source: &'a str,
    /// Frames with the byte offset where each started.
    stack: Vec<(Frame, usize)>,
    body: Body,
    /// Footnote labels in the order of their first reference.
    footnote_order: Vec<String>,
    footnote_defs: Vec<(String, Vec<Block>)>,
    /// Inline HTML elements open so far (they may span paragraphs).
    html_depth: usize,
}

/// Parses a markdown body into top-level items, link sites and footnotes.
/// The caller has checked the nesting (`nesting::check`): the frames here,
/// the model and every recursion over it are only as deep as that allows.
pub fn parse(source: &str) -> Body {
    let mut b = Builder {
        source,
        stack: vec![(Frame::Root, 0)],
        body: Body::default(),
        footnote_order: Vec::new(),
        footnote_defs: Vec::new(),
        html_depth: 0,
    };
    for (event, range) in Parser::new_ext(source, options()).into_offset_iter() {
        b.event(event, range.start);
    }
    while b.stack.len() > 1 {
        b.close();
    }
    b.finish_footnotes();
    b.body
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, at: usize) {
        match event {
            Event::Start(tag) => self.start(tag, at),
            Event::End(end) => self.end(end),
            Event::Text(t) => self.text(&t, at),
            Event::Code(t) => self.inline(Inline::Code(t.into_string()), at),
            Event::Html(t) | Event::InlineHtml(t) => self.raw_html(&t, at),
            Event::SoftBreak => self.text(" ", at),
            Event::HardBreak => self.inline(Inline::LineBreak, at),
            Event::Rule => self.block(Block::Rule, at),
            Event::FootnoteReference(label) => {
                let n = match self.footnote_order.iter().position(|l| *l == *label) {
                    Some(i) => i + 1,
                    None => {
                        self.footnote_order.push(label.into_string());
                        self.footnote_order.len()
                    }
                };
                self.inline(Inline::FootnoteRef(n), at);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, at),
            Event::TaskListMarker(done) => self.inline(Inline::Task(done), at),
        }
    }

    fn start(&mut self, tag: Tag<'_>, at: usize) {
        let frame = match tag {
            Tag::Paragraph => Frame::Inlines {
                kind: InlineKind::Paragraph,
                inlines: Vec::new(),
            },
            Tag::Heading { level, .. } => Frame::Inlines {
                kind: InlineKind::Heading(level as u8),
                inlines: Vec::new(),
            },
            Tag::Emphasis => self.inline_frame(InlineKind::Emphasis, at),
            Tag::Strong => self.inline_frame(InlineKind::Strong, at),
            Tag::Strikethrough => self.inline_frame(InlineKind::Strikethrough, at),
            Tag::Link { dest_url, .. } => self.inline_frame(
                InlineKind::Link {
                    url: dest_url.into_string(),
                    html: false,
                },
                at,
            ),
            Tag::Image { dest_url, title, .. } => self.inline_frame(
                InlineKind::Image {
                    url: dest_url.into_string(),
                    title: Some(title.into_string()).filter(|t| !t.is_empty()),
                },
                at,
            ),
            Tag::List(start) => Frame::List {
                start,
                items: Vec::new(),
            },
            Tag::Item => Frame::Item(Vec::new()),
            Tag::BlockQuote(_) => Frame::Quote(Vec::new()),
            Tag::FootnoteDefinition(label) => Frame::Footnote(label.into_string(), Vec::new()),
            Tag::CodeBlock(kind) => Frame::Code {
                lang: match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().map(str::to_string),
                    CodeBlockKind::Indented => None,
                },
                code: String::new(),
            },
            Tag::Table(aligns) => Frame::Table(Table {
                aligns: aligns.into_iter().map(align).collect(),
                head: Vec::new(),
                rows: Vec::new(),
            }),
            Tag::TableHead => Frame::Row {
                head: true,
                cells: Vec::new(),
            },
            Tag::TableRow => Frame::Row {
                head: false,
                cells: Vec::new(),
            },
            Tag::TableCell => Frame::Inlines {
                kind: InlineKind::Cell,
                inlines: Vec::new(),
            },
            Tag::HtmlBlock => Frame::HtmlBlock(String::new()),
            // Not worth a model node: their content flows into the surrounding blocks.
            _ => return,
        };
        if is_block_frame(&frame) {
            self.close_implicit_paragraph();
        }
        self.stack.push((frame, at));
    }

    /// Inline containers open an implicit paragraph when they start a tight item.
    fn inline_frame(&mut self, kind: InlineKind, at: usize) -> Frame {
        self.ensure_inline_context(at);
        Frame::Inlines {
            kind,
            inlines: Vec::new(),
        }
    }

    fn end(&mut self, end: TagEnd) {
        // An `<a>` tag left open ends with the element that holds it.
        self.close_html_links();
        let inline_end = matches!(
            end,
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link | TagEnd::Image
        );
        if !inline_end {
            self.close_implicit_paragraph();
        }
        let block_end = matches!(
            end,
            TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::List(_)
                | TagEnd::Item
                | TagEnd::BlockQuote(_)
                | TagEnd::CodeBlock
                | TagEnd::FootnoteDefinition
                | TagEnd::Table
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::TableCell
                | TagEnd::HtmlBlock
        );
        if inline_end || block_end {
            self.close();
        }
    }

    fn close_implicit_paragraph(&mut self) {
        if let Some((
            Frame::Inlines {
                kind: InlineKind::Implicit,
                ..
            },
            _,
        )) = self.stack.last()
        {
            self.close();
        }
    }

    fn close_html_links(&mut self) {
        while let Some((
            Frame::Inlines {
                kind: InlineKind::Link { html: true, .. },
                ..
            },
            _,
        )) = self.stack.last()
        {
            self.close();
        }
    }

    fn text(&mut self, text: &str, at: usize) {
        match self.stack.last_mut() {
            Some((Frame::Code { code, .. } | Frame::HtmlBlock(code), _)) => {
                code.push_str(text);
                return;
            }
            _ => self.template_syntax(text, at),
        }
        self.ensure_inline_context(at);
        if let Some((Frame::Inlines { inlines, .. }, _)) = self.stack.last_mut() {
            // Adjacent text is merged so that autolinking sees whole URLs.
            if let Some(Inline::Text(prev)) = inlines.last_mut() {
                prev.push_str(text);
                return;
            }
            inlines.push(Inline::Text(text.to_string()));
        }
    }

    fn inline(&mut self, inline: Inline, at: usize) {
        if let Some((Frame::Code { code, .. }, _)) = self.stack.last_mut() {
            code.push_str(&Inline::plain_text(&[inline]));
            return;
        }
        self.ensure_inline_context(at);
        if let Some((Frame::Inlines { inlines, .. }, _)) = self.stack.last_mut() {
            inlines.push(inline);
        }
    }

    /// Tight list items (and stray inline events) have no Paragraph: open one.
    fn ensure_inline_context(&mut self, at: usize) {
        if !matches!(self.stack.last(), Some((Frame::Inlines { .. }, _))) {
            let frame = Frame::Inlines {
                kind: InlineKind::Implicit,
                inlines: Vec::new(),
            };
            self.stack.push((frame, at));
        }
    }
}

fn align(a: Alignment) -> Align {
    match a {
        Alignment::None => Align::None,
        Alignment::Left => Align::Left,
        Alignment::Center => Align::Center,
        Alignment::Right => Align::Right,
    }
}

fn is_block_frame(frame: &Frame) -> bool {
    !matches!(
        frame,
        Frame::Inlines {
            kind: InlineKind::Emphasis
                | InlineKind::Strong
                | InlineKind::Strikethrough
                | InlineKind::Link { .. }
                | InlineKind::Image { .. },
            ..
        }
    )
}

/// Plain text of a block (for the rare block that lands where only text fits).
pub fn block_text(block: &Block) -> String {
    match block {
        Block::Paragraph(i) | Block::Heading { content: i, .. } => Inline::plain_text(i),
        Block::CodeBlock { code, .. } | Block::Html(code) => code.clone(),
        Block::List(l) => l.items.iter().flatten().map(block_text).collect::<Vec<_>>().join("\n"),
        Block::BlockQuote(b) => b.iter().map(block_text).collect::<Vec<_>>().join("\n"),
        Block::Table(t) => std::iter::once(&t.head)
            .chain(&t.rows)
            .map(|row| {
                row.iter()
                    .map(|c| Inline::plain_text(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Rule => String::new(),
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
