//! Markdown body → plain blocks and inlines (pulldown-cmark events folded into
//! the model's tree). Only top-level items keep their byte offset: sections
//! are cut at top-level headings, and lines are found from there.

use super::autolink;
use super::model::{Block, Inline, List};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

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

#[derive(Debug, Default)]
pub struct Body {
    pub items: Vec<Located>,
    pub links: Vec<LinkSite>,
}

/// Strikethrough only: no tables (they stay paragraphs), no footnotes, no
/// metadata blocks (the front matter is split off before this runs).
pub(super) fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH
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
    Link(String),
}

enum Frame {
    Root,
    Item(Vec<Block>),
    Quote(Vec<Block>),
    List { start: Option<u64>, items: Vec<Vec<Block>> },
    Inlines { kind: InlineKind, inlines: Vec<Inline> },
    Code { lang: Option<String>, code: String },
}

struct Builder<'a> {
    source: &'a str,
    /// Frames with the byte offset where each started.
    stack: Vec<(Frame, usize)>,
    body: Body,
    /// End of the last event seen: where an implicit paragraph ends.
    last_end: usize,
}

/// Parses a markdown body into top-level items and link sites.
pub fn parse(source: &str) -> Body {
    let mut b = Builder {
        source,
        stack: vec![(Frame::Root, 0)],
        body: Body::default(),
        last_end: 0,
    };
    for (event, range) in Parser::new_ext(source, options()).into_offset_iter() {
        b.event(event, range.start);
        b.last_end = range.end;
    }
    while b.stack.len() > 1 {
        b.close();
    }
    b.body
}

impl Builder<'_> {
    fn event(&mut self, event: Event<'_>, at: usize) {
        match event {
            Event::Start(tag) => self.start(tag, at),
            Event::End(end) => self.end(end),
            Event::Text(t) => self.text(&t, at),
            Event::Code(t) => self.inline(Inline::Code(t.into_string()), at),
            // Raw HTML is kept as literal text: renderers escape it.
            Event::Html(t) | Event::InlineHtml(t) => self.text(&t, at),
            Event::SoftBreak => self.text(" ", at),
            Event::HardBreak => self.inline(Inline::LineBreak, at),
            Event::Rule => self.block(Block::Rule, at),
            Event::FootnoteReference(t) | Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, at),
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }, at),
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
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.inline_frame(InlineKind::Link(dest_url.into_string()), at)
            }
            Tag::List(start) => Frame::List {
                start,
                items: Vec::new(),
            },
            Tag::Item => Frame::Item(Vec::new()),
            Tag::BlockQuote(_) => Frame::Quote(Vec::new()),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .map(str::to_string)
                        .filter(|s| !s.is_empty()),
                    CodeBlockKind::Indented => None,
                };
                Frame::Code {
                    lang,
                    code: String::new(),
                }
            }
            Tag::HtmlBlock => {
                self.close_implicit_paragraph();
                return;
            }
            // Not enabled or not worth a model node: their content flows
            // into the surrounding blocks.
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

    /// Pops the top frame and hands its result to the parent.
    fn close(&mut self) {
        let (frame, at) = self.stack.pop().expect("root is never closed");
        match frame {
            Frame::Root => unreachable!("root is never popped"),
            Frame::Item(blocks) => {
                if let Some((Frame::List { items, .. }, _)) = self.stack.last_mut() {
                    items.push(blocks);
                } else {
                    self.blocks(blocks, at);
                }
            }
            Frame::Quote(blocks) => self.block(Block::BlockQuote(blocks), at),
            Frame::List { start, items } => self.block(Block::List(List { start, items }), at),
            Frame::Code { lang, code } => self.block(Block::CodeBlock { lang, code }, at),
            Frame::Inlines { kind, inlines } => {
                let outermost = !matches!(self.stack.last(), Some((Frame::Inlines { .. }, _)));
                let inside_link = self.inside_link();
                let inlines = if inside_link || matches!(kind, InlineKind::Link(_)) {
                    inlines
                } else {
                    autolink::linkify(inlines)
                };
                if outermost {
                    self.record_links(&inlines, at);
                }
                match kind {
                    InlineKind::Paragraph | InlineKind::Implicit => self.block(Block::Paragraph(inlines), at),
                    InlineKind::Heading(level) => self.heading(level, inlines, at),
                    InlineKind::Emphasis => self.inline(Inline::Emphasis(inlines), at),
                    InlineKind::Strong => self.inline(Inline::Strong(inlines), at),
                    InlineKind::Strikethrough => self.inline(Inline::Strikethrough(inlines), at),
                    InlineKind::Link(url) => self.inline(Inline::Link { url, content: inlines }, at),
                }
            }
        }
    }

    fn inside_link(&self) -> bool {
        self.stack.iter().any(|(f, _)| {
            matches!(
                f,
                Frame::Inlines {
                    kind: InlineKind::Link(_),
                    ..
                }
            )
        })
    }

    /// Finds each link's URL in the source after `at`, for line numbers.
    /// Only up to the end of the last event: a URL not written there (a
    /// reference link's) must not cost a scan of the rest of the body.
    fn record_links(&mut self, inlines: &[Inline], at: usize) {
        let mut cursor = at;
        let mut urls = Vec::new();
        collect_urls(inlines, &mut urls);
        let end = self.last_end.max(at).min(self.source.len());
        for url in urls {
            let offset = self
                .source
                .get(cursor..end.max(cursor))
                .and_then(|s| s.find(url.as_str()))
                .map_or(at, |i| cursor + i);
            cursor = if offset >= cursor {
                offset + url.len().min(self.source.len() - offset)
            } else {
                cursor
            };
            self.body.links.push(LinkSite { url, offset });
        }
    }

    fn heading(&mut self, level: u8, content: Vec<Inline>, at: usize) {
        if let Some((Frame::Root, _)) = self.stack.last() {
            self.body.items.push(Located {
                offset: at,
                top: Top::Heading { level, content },
            });
        } else {
            self.block(Block::Heading { level, content }, at);
        }
    }

    fn blocks(&mut self, blocks: Vec<Block>, at: usize) {
        for b in blocks {
            self.block(b, at);
        }
    }

    fn block(&mut self, block: Block, at: usize) {
        match self.stack.last_mut() {
            Some((Frame::Root, _)) => self.body.items.push(Located {
                offset: at,
                top: Top::Block(block),
            }),
            Some((Frame::Item(blocks) | Frame::Quote(blocks), _)) => blocks.push(block),
            // A block inside a list outside an item, or inside inlines:
            // pulldown-cmark does not produce these, but never lose text.
            Some((Frame::List { items, .. }, _)) => items.push(vec![block]),
            Some((Frame::Inlines { inlines, .. }, _)) => inlines.push(Inline::Text(block_text(&block))),
            Some((Frame::Code { code, .. }, _)) => code.push_str(&block_text(&block)),
            None => unreachable!("root is never popped"),
        }
    }

    fn text(&mut self, text: &str, at: usize) {
        if let Some((Frame::Code { code, .. }, _)) = self.stack.last_mut() {
            code.push_str(text);
            return;
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

fn is_block_frame(frame: &Frame) -> bool {
    !matches!(
        frame,
        Frame::Inlines {
            kind: InlineKind::Emphasis | InlineKind::Strong | InlineKind::Strikethrough | InlineKind::Link(_),
            ..
        }
    )
}

fn collect_urls(inlines: &[Inline], out: &mut Vec<String>) {
    for inline in inlines {
        match inline {
            Inline::Link { url, content } => {
                out.push(url.clone());
                collect_urls(content, out);
            }
            Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => collect_urls(c, out),
            _ => {}
        }
    }
}

/// Plain text of a block (for the rare block that lands where only text fits).
pub fn block_text(block: &Block) -> String {
    match block {
        Block::Paragraph(i) | Block::Heading { content: i, .. } => Inline::plain_text(i),
        Block::CodeBlock { code, .. } => code.clone(),
        Block::List(l) => l.items.iter().flatten().map(block_text).collect::<Vec<_>>().join("\n"),
        Block::BlockQuote(b) => b.iter().map(block_text).collect::<Vec<_>>().join("\n"),
        Block::Rule => String::new(),
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
