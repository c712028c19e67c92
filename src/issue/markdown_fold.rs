//! Folding finished frames into their parents: blocks into items, quotes,
//! footnotes and the top level; inlines into paragraphs, headings, table
//! cells and links (autolinking bare URLs on the way); link sites recorded
//! for line numbers.

use super::super::autolink;
use super::super::model::{Block, Footnote, Inline, List};
use super::{block_text, Builder, Frame, InlineKind, LinkSite, Located, Top};

impl Builder<'_> {
    /// Pops the top frame and hands its result to the parent.
    pub(super) fn close(&mut self) {
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
            Frame::Footnote(label, blocks) => self.footnote_defs.push((label, blocks)),
            Frame::List { start, items } => self.block(Block::List(List { start, items }), at),
            Frame::Code { lang, code } => self.block(Block::CodeBlock { lang, code }, at),
            Frame::Table(table) => self.block(Block::Table(table), at),
            Frame::Row { head, cells } => match self.stack.last_mut() {
                Some((Frame::Table(t), _)) if head => t.head = cells,
                Some((Frame::Table(t), _)) => t.rows.push(cells),
                _ => self.blocks(cells.into_iter().map(Block::Paragraph).collect(), at),
            },
            Frame::HtmlBlock(raw) => self.html_block(&raw, at),
            Frame::Inlines { kind, inlines } => self.close_inlines(kind, inlines, at),
        }
    }

    pub(super) fn close_inlines(&mut self, kind: InlineKind, inlines: Vec<Inline>, at: usize) {
        let outermost = !matches!(self.stack.last(), Some((Frame::Inlines { .. }, _)));
        let in_link = self.inside_link() || matches!(kind, InlineKind::Link { .. } | InlineKind::Image { .. });
        let inlines = if in_link { inlines } else { autolink::linkify(inlines) };
        if outermost {
            self.record_links(&inlines, at);
        }
        match kind {
            InlineKind::Paragraph | InlineKind::Implicit => {
                // A removed comment can leave a space at either end.
                let inlines = trim_ends(inlines);
                if !inlines.is_empty() {
                    self.block(Block::Paragraph(inlines), at);
                }
            }
            InlineKind::Heading(level) => self.heading(level, inlines, at),
            InlineKind::Emphasis => self.inline(Inline::Emphasis(inlines), at),
            InlineKind::Strong => self.inline(Inline::Strong(inlines), at),
            InlineKind::Strikethrough => self.inline(Inline::Strikethrough(inlines), at),
            InlineKind::Link { url, .. } => self.inline(Inline::Link { url, content: inlines }, at),
            InlineKind::Image { url, title } => {
                let alt = Inline::plain_text(&inlines)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let image = Inline::Image {
                    url,
                    alt,
                    title,
                    width: None,
                    height: None,
                };
                self.inline(image, at)
            }
            InlineKind::Cell => match self.stack.last_mut() {
                Some((Frame::Row { cells, .. }, _)) => cells.push(inlines),
                _ => self.block(Block::Paragraph(inlines), at),
            },
        }
    }

    pub(super) fn inside_link(&self) -> bool {
        self.stack.iter().any(|(f, _)| {
            matches!(
                f,
                Frame::Inlines {
                    kind: InlineKind::Link { .. } | InlineKind::Image { .. },
                    ..
                }
            )
        })
    }

    /// Finds each link's URL in the source after `at`, for line numbers.
    /// Within a window: a URL not written there (a reference link's) must
    /// not cost a scan of the rest of the body, which made a body of many
    /// such links quadratic.
    pub(super) fn record_links(&mut self, inlines: &[Inline], at: usize) {
        const WINDOW: usize = 64 << 10;
        let mut cursor = at;
        let mut urls = Vec::new();
        collect_urls(inlines, &mut urls);
        for url in urls {
            let mut end = (cursor + WINDOW).min(self.source.len());
            while !self.source.is_char_boundary(end) {
                end -= 1;
            }
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

    pub(super) fn heading(&mut self, level: u8, content: Vec<Inline>, at: usize) {
        if let Some((Frame::Root, _)) = self.stack.last() {
            self.body.items.push(Located {
                offset: at,
                top: Top::Heading { level, content },
            });
        } else {
            self.block(Block::Heading { level, content }, at);
        }
    }

    pub(super) fn blocks(&mut self, blocks: Vec<Block>, at: usize) {
        for b in blocks {
            self.block(b, at);
        }
    }

    pub(super) fn block(&mut self, block: Block, at: usize) {
        match self.stack.last_mut() {
            Some((Frame::Root, _)) => self.body.items.push(Located {
                offset: at,
                top: Top::Block(block),
            }),
            Some((Frame::Item(blocks) | Frame::Quote(blocks) | Frame::Footnote(_, blocks), _)) => blocks.push(block),
            // A block where pulldown-cmark does not put one: never lose its text.
            Some((Frame::List { items, .. }, _)) => items.push(vec![block]),
            Some((Frame::Inlines { inlines, .. }, _)) => inlines.push(Inline::Text(block_text(&block))),
            Some((Frame::Code { code, .. } | Frame::HtmlBlock(code), _)) => code.push_str(&block_text(&block)),
            Some((Frame::Row { cells, .. }, _)) => cells.push(vec![Inline::Text(block_text(&block))]),
            Some((Frame::Table(t), _)) => t.rows.push(vec![vec![Inline::Text(block_text(&block))]]),
            None => unreachable!("root is never popped"),
        }
    }

    /// Numbers definitions by first reference; unreferenced ones follow.
    pub(super) fn finish_footnotes(&mut self) {
        let mut unreferenced = self.footnote_order.len();
        for (label, blocks) in std::mem::take(&mut self.footnote_defs) {
            let number = match self.footnote_order.iter().position(|l| *l == label) {
                Some(i) => i + 1,
                None => {
                    unreferenced += 1;
                    unreferenced
                }
            };
            self.body.footnotes.push(Footnote { number, label, blocks });
        }
        self.body.footnotes.sort_by_key(|f| f.number);
    }
}

pub(super) fn trim_ends(mut inlines: Vec<Inline>) -> Vec<Inline> {
    if let Some(Inline::Text(t)) = inlines.last_mut() {
        t.truncate(t.trim_end().len());
        if t.is_empty() {
            inlines.pop();
        }
    }
    if let Some(Inline::Text(t)) = inlines.first_mut() {
        *t = t.trim_start().to_string();
        if t.is_empty() {
            inlines.remove(0);
        }
    }
    inlines
}

fn collect_urls(inlines: &[Inline], out: &mut Vec<String>) {
    for inline in inlines {
        match inline {
            Inline::Link { url, content } => {
                out.push(url.clone());
                collect_urls(content, out);
            }
            Inline::Image { url, .. } => out.push(url.clone()),
            Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => collect_urls(c, out),
            _ => {}
        }
    }
}
