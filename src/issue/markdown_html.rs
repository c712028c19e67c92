//! Raw HTML and template syntax met while folding markdown events: comments
//! are removed (the `<!-- more -->` marker is remembered), `<a href>`,
//! `<img>` and `<br>` become links, images and line breaks, allowed inline
//! tags are kept for the sanitizer, other elements are dropped with a note,
//! and `<Word>` that is not HTML stays text.

use super::super::model::{Block, Inline};
use super::super::rawhtml::{self, Tag};
use super::{Builder, Frame, InlineKind, Note};

impl Builder<'_> {
    /// One inline HTML event (a tag or a comment), or an HTML line outside a block.
    pub(super) fn raw_html(&mut self, raw: &str, at: usize) {
        if let Some((Frame::HtmlBlock(html), _)) = self.stack.last_mut() {
            html.push_str(raw);
            return;
        }
        let (clean, more) = rawhtml::strip_comments(raw);
        if more {
            self.body.more_at.get_or_insert(at);
        }
        if clean.trim().is_empty() {
            return;
        }
        let Some(tag) = rawhtml::parse_tag(&clean) else {
            return self.text(&clean, at);
        };
        match (tag.name.as_str(), tag.closing) {
            ("img", false) => self.inline(image(&tag), at),
            ("br", _) => self.inline(Inline::LineBreak, at),
            ("a", false) => {
                let kind = InlineKind::Link {
                    url: tag.attr("href").unwrap_or_default().to_string(),
                    html: true,
                };
                let frame = self.inline_frame(kind, at);
                self.stack.push((frame, at));
            }
            ("a", true) => {
                let open = matches!(
                    self.stack.last(),
                    Some((
                        Frame::Inlines {
                            kind: InlineKind::Link { html: true, .. },
                            ..
                        },
                        _
                    ))
                );
                if open {
                    self.close();
                }
            }
            (name, closing) if rawhtml::INLINE_ALLOWED.contains(&name) => {
                if closing {
                    self.html_depth = self.html_depth.saturating_sub(1);
                } else if rawhtml::opens(&tag) {
                    if self.html_depth >= rawhtml::MAX_DEPTH {
                        self.body.notes.push((at, Note::TooDeep));
                        return;
                    }
                    self.html_depth += 1;
                }
                self.inline(Inline::Html(clean.trim().to_string()), at);
            }
            (name, closing) if rawhtml::is_element(name) => {
                if !closing {
                    self.body.notes.push((at, Note::DroppedHtml(tag.name.clone())));
                }
            }
            _ => self.text(&clean, at),
        }
    }

    /// A whole HTML block: nothing when it only held comments, an image
    /// when it is one `<img>`, else `Block::Html` for the renderers.
    pub(super) fn html_block(&mut self, raw: &str, at: usize) {
        let (clean, more) = rawhtml::strip_comments(raw);
        if more {
            self.body.more_at.get_or_insert(at);
        }
        let trimmed = clean.trim();
        if trimmed.is_empty() {
            return;
        }
        if rawhtml::depth(trimmed) > rawhtml::MAX_DEPTH {
            self.body.notes.push((at, Note::TooDeep));
            let text = rawhtml::strip_tags(trimmed)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if !text.is_empty() {
                self.block(Block::Paragraph(vec![Inline::Text(text)]), at);
            }
            return;
        }
        for (offset, name) in rawhtml::dropped_elements(raw) {
            self.body.notes.push((at + offset, Note::DroppedHtml(name)));
        }
        match rawhtml::parse_tag(trimmed) {
            Some(tag) if tag.name == "img" => self.block(Block::Paragraph(vec![image(&tag)]), at),
            _ => self.block(Block::Html(trimmed.to_string()), at),
        }
    }

    /// Notes Hugo shortcodes, Handlebars partials and Liquid tags, which
    /// only the site generator understands.
    pub(super) fn template_syntax(&mut self, text: &str, at: usize) {
        for open in ["{{", "{%"] {
            if let Some(i) = text.find(open) {
                // Up to the closing braces when they are near, else a prefix.
                let head: String = text[i..].chars().take(80).collect();
                let snippet = match head.find("}}").or_else(|| head.find("%}")) {
                    Some(end) => head[..end + 2].to_string(),
                    None => head.chars().take(30).collect::<String>() + "…",
                };
                self.body.notes.push((at + i, Note::TemplateSyntax(snippet)));
                return;
            }
        }
    }
}

/// `<img src alt title width height>` as a model image.
fn image(tag: &Tag) -> Inline {
    let px = |name: &str| {
        tag.attr(name)
            .and_then(|v| v.trim().trim_end_matches("px").parse::<u32>().ok())
            .filter(|n| *n > 0)
    };
    Inline::Image {
        url: tag.attr("src").unwrap_or_default().to_string(),
        alt: tag
            .attr("alt")
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        title: tag.attr("title").map(str::to_string),
        width: px("width"),
        height: px("height"),
    }
}
