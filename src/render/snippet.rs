//! The theme's header and footer in the text body when they hold personal
//! fields: their blocks are kept with field markers and rendered for each
//! recipient, so the lines are wrapped around the real value (a long name
//! never breaks the 72-column rule, a short one leaves no ragged gap). Their
//! link numbers are fixed when the issue is prepared.

use super::personal::Slots;
use super::text_writer::{RefNumbers, TextWriter};
use crate::i18n::Labels;
use crate::issue::{walk_blocks, Block, Inline};
use ammonia::Url;

/// A snippet of the text body rendered per recipient.
#[derive(Debug, Clone)]
pub struct TextSnippet {
    pub blocks: Vec<Block>,
    /// Link numbers used before the snippet.
    pub first_ref: usize,
}

/// What rendering a snippet needs besides the values.
#[derive(Debug, Clone)]
pub struct SnippetContext {
    pub slots: Slots,
    pub labels: Labels,
    pub base: Option<Url>,
}

impl TextSnippet {
    /// The snippet's text with `value(n)` for field n.
    pub fn render(&self, cx: &SnippetContext, value: &dyn Fn(usize) -> String) -> String {
        let mut blocks = self.blocks.clone();
        let fill = |s: &mut String| *s = cx.slots.fill_fields(s, value);
        walk_blocks(&mut blocks, &mut |inline| match inline {
            Inline::Text(t) | Inline::Code(t) => fill(t),
            Inline::Link { url, .. } => fill(url),
            _ => {}
        });
        plain(
            &mut RefNumbers::after(self.first_ref),
            cx.base.as_ref(),
            &cx.labels,
            &blocks,
        )
    }
}

/// Untitled blocks (a snippet, the lead) and their link references.
pub fn plain(numbers: &mut RefNumbers, base: Option<&Url>, labels: &Labels, blocks: &[Block]) -> String {
    let mut w = TextWriter::new(numbers, base, labels);
    w.blocks(blocks);
    w.flush_refs();
    let mut lines = w.lines;
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}
