//! The plain-text body: issue blocks wrapped at 72 display columns with
//! numbered link references, laid out by templates/email.txt.

use super::personal::Slots;
use super::view::{allowed_url, article_url, keep_lines, one_line, IssueView, LinkView};
use super::wrap::{display_width, underline, wrap_hanging, TEXT_WIDTH};
use crate::issue::{Block, Inline, Issue};
use askama::Template;

#[derive(Template)]
#[template(path = "email.txt")]
pub struct EmailText<'a> {
    pub v: &'a IssueView,
    pub header: String,
    pub toc: String,
    /// Intro and articles, each fully rendered (title, URL, body, references).
    pub sections: Vec<String>,
    pub more_links: String,
    pub why: String,
    pub unsubscribe_fallback: String,
    pub slots: &'a Slots,
}

impl<'a> EmailText<'a> {
    pub fn new(issue: &Issue, v: &'a IssueView, slots: &'a Slots) -> Self {
        let mut header_lines = wrap_hanging(&format!("{} · {}", v.series, v.issue_label), TEXT_WIDTH, "", "");
        header_lines.push(underline(&header_lines, '='));
        if let Some(p) = &v.period {
            header_lines.push(p.clone());
        }
        let width = issue.articles.len().to_string().len();
        let mut toc = Vec::new();
        for (i, a) in issue.articles.iter().enumerate() {
            let marker = format!("{:>width$}. ", i + 1);
            toc.extend(wrap_hanging(
                &one_line(&a.title),
                TEXT_WIDTH,
                &marker,
                &" ".repeat(marker.len()),
            ));
        }
        let mut numbers = RefNumbers::default();
        let mut sections = Vec::new();
        if let Some(intro) = &issue.intro {
            sections.push(section(&mut numbers, &intro.title, None, &intro.blocks, &[], v));
        }
        for (a, related) in issue.articles.iter().zip(&v.related) {
            sections.push(section(&mut numbers, &a.title, article_url(a), &a.blocks, related, v));
        }
        let mut more = Vec::new();
        for (link, related) in &v.more_links {
            push_link_item(&mut more, link, "- ", "  ");
            for r in related {
                push_link_item(&mut more, r, "  - ", "    ");
            }
        }
        let why = format!("{}{}{}", v.labels.why_prefix, v.newsletter, v.labels.why_suffix);
        let fallback = match &v.unsubscribe_mailto {
            Some(m) => format!("{} {m}", v.labels.unsubscribe_by_mail),
            None => v.labels.reply_to_unsubscribe.to_string(),
        };
        EmailText {
            v,
            header: header_lines.join("\n"),
            toc: toc.join("\n"),
            sections,
            more_links: more.join("\n"),
            why: wrap_hanging(&why, TEXT_WIDTH, "", "").join("\n"),
            unsubscribe_fallback: wrap_hanging(&fallback, TEXT_WIDTH, "", "").join("\n"),
            slots,
        }
    }
}

fn push_link_item(lines: &mut Vec<String>, link: &LinkView, first: &str, rest: &str) {
    if link.text == link.url {
        lines.push(format!("{first}{}", link.url));
    } else {
        lines.extend(wrap_hanging(&link.text, TEXT_WIDTH, first, rest));
        lines.push(format!("{rest}{}", link.url));
    }
}

/// A titled section: underlined title, its URL, the body, then its link references.
fn section(
    numbers: &mut RefNumbers,
    title: &str,
    url: Option<String>,
    blocks: &[Block],
    related: &[LinkView],
    v: &IssueView,
) -> String {
    let mut w = TextWriter::new(numbers);
    let title_lines = wrap_hanging(&one_line(title), TEXT_WIDTH, "", "");
    let rule = underline(&title_lines, '-');
    w.lines.extend(title_lines);
    w.lines.push(rule);
    if let Some(url) = url {
        w.lines.push(url);
    }
    w.blank();
    for b in blocks {
        w.block(b, "", "");
        w.blank();
    }
    for (n, url) in std::mem::take(&mut w.refs) {
        w.lines.push(format!("[{n}] {url}"));
    }
    if !related.is_empty() {
        w.blank();
        w.lines.push(v.labels.related.to_string());
        for r in related {
            push_link_item(&mut w.lines, r, "- ", "  ");
        }
    }
    while w.lines.last().is_some_and(|l| l.is_empty()) {
        w.lines.pop();
    }
    w.lines.join("\n")
}

/// Link numbers run through the whole mail, so `[3]` means one URL everywhere.
#[derive(Default)]
pub struct RefNumbers {
    next: usize,
}

pub struct TextWriter<'n> {
    numbers: &'n mut RefNumbers,
    pub lines: Vec<String>,
    /// This section's references, listed at its end.
    pub refs: Vec<(usize, String)>,
}

impl<'n> TextWriter<'n> {
    pub fn new(numbers: &'n mut RefNumbers) -> Self {
        TextWriter {
            numbers,
            lines: Vec::new(),
            refs: Vec::new(),
        }
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// `first` prefixes the block's first line (a list marker, possibly), `rest` the others.
    pub fn block(&mut self, block: &Block, first: &str, rest: &str) {
        match block {
            Block::Paragraph(inlines) => {
                let text = self.inlines(inlines);
                self.lines.extend(wrap_hanging(text.trim(), TEXT_WIDTH, first, rest));
            }
            Block::Heading { content, .. } => {
                let text = self.inlines(content);
                let lines = wrap_hanging(text.trim(), TEXT_WIDTH, first, rest);
                let text_width = lines.iter().map(|l| display_width(l)).max().unwrap_or(0);
                let rule = format!(
                    "{rest}{}",
                    "~".repeat(text_width.saturating_sub(display_width(rest)).max(3))
                );
                self.lines.extend(lines);
                self.lines.push(rule);
            }
            Block::List(list) => {
                let last = list.start.map_or(0, |s| s + list.items.len() as u64 - 1);
                let width = last.to_string().len();
                for (i, item) in list.items.iter().enumerate() {
                    let marker = match list.start {
                        Some(s) => format!("{:>width$}. ", s + i as u64),
                        None => "- ".to_string(),
                    };
                    let lead = if i == 0 { first } else { rest };
                    let item_first = format!("{lead}{marker}");
                    let item_rest = format!("{rest}{}", " ".repeat(marker.len()));
                    for (j, b) in item.iter().enumerate() {
                        if j == 0 {
                            self.block(b, &item_first, &item_rest);
                        } else {
                            self.block(b, &item_rest, &item_rest);
                        }
                    }
                }
            }
            Block::CodeBlock { code, .. } => {
                // Verbatim: only the enclosing indent is added, never a wrap.
                self.blank();
                if first.trim() != "" {
                    self.lines.push(first.trim_end().to_string());
                }
                for line in keep_lines(code).trim_end_matches('\n').split('\n') {
                    self.lines.push(format!("{rest}{line}").trim_end().to_string());
                }
                self.blank();
            }
            Block::BlockQuote(inner) => {
                for b in inner {
                    self.block(b, &format!("{first}> "), &format!("{rest}> "));
                }
            }
            Block::Rule => self.lines.push(format!("{first}----")),
        }
    }

    /// Inline text; `\n` marks hard breaks. Links become `text [n]` unless bare.
    pub fn inlines(&mut self, inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            self.inline(&mut out, inline);
        }
        out
    }

    fn inline(&mut self, out: &mut String, inline: &Inline) {
        match inline {
            Inline::Text(t) => out.push_str(&one_line_keep_spaces(t)),
            Inline::Code(c) => {
                out.push('`');
                out.push_str(&one_line_keep_spaces(c));
                out.push('`');
            }
            Inline::Emphasis(c) => self.around(out, "_", c),
            Inline::Strong(c) => self.around(out, "*", c),
            Inline::Strikethrough(c) => self.around(out, "~", c),
            Inline::Link { url, content } => {
                let text = self.inlines(content);
                let Some(url) = allowed_url(url) else {
                    out.push_str(&text);
                    return;
                };
                let bare =
                    text.trim().is_empty() || text.trim() == url || url.strip_prefix("mailto:") == Some(text.trim());
                if bare {
                    out.push_str(if text.trim().is_empty() { url } else { &text });
                } else {
                    out.push_str(&text);
                    out.push_str(&format!(" [{}]", self.number(url)));
                }
            }
            Inline::LineBreak => out.push('\n'),
        }
    }

    fn around(&mut self, out: &mut String, mark: &str, content: &[Inline]) {
        out.push_str(mark);
        out.push_str(&self.inlines(content));
        out.push_str(mark);
    }

    fn number(&mut self, url: &str) -> usize {
        if let Some((n, _)) = self.refs.iter().find(|(_, u)| u == url) {
            return *n;
        }
        self.numbers.next += 1;
        self.refs.push((self.numbers.next, url.to_string()));
        self.numbers.next
    }
}

/// Control characters (CR/LF in a title, say) become spaces; spacing is kept.
fn one_line_keep_spaces(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
