//! The plain-text body: the issue's parts through [`TextWriter`], laid out
//! by templates/email.txt.

use super::personal::Slots;
use super::snippet::TextSnippet;
use super::text_writer::{RefNumbers, TextWriter};
use super::view::{article_url, one_line, IssueView, LinkView};
use super::wrap::{underline, wrap_hanging, TEXT_WIDTH};
use crate::issue::{Block, Issue};
use askama::Template;

#[derive(Template)]
#[template(path = "email.txt")]
pub struct EmailText<'a> {
    pub v: &'a IssueView,
    pub header: String,
    /// The theme's header snippet and the issue's lead, rendered (may be empty).
    pub opening: Vec<String>,
    pub toc: String,
    /// Intro and articles, each fully rendered (title, URL, body, references).
    pub sections: Vec<String>,
    pub more_links: String,
    pub notes: String,
    /// The theme's footer snippet, rendered (may be empty).
    pub footer: String,
    pub why: String,
    pub unsubscribe_fallback: String,
    pub slots: &'a Slots,
    /// Header (0) and footer (1) snippets that hold personal fields: the
    /// body has a `Slot::Snippet` marker where each goes.
    pub personal: Vec<TextSnippet>,
}

impl<'a> EmailText<'a> {
    pub fn new(issue: &Issue, v: &'a IssueView, extras: &super::html::Extras<'a>) -> Self {
        let mut header_lines = wrap_hanging(&format!("{} · {}", v.series, v.issue_label), TEXT_WIDTH, "", "");
        header_lines.push(underline(&header_lines, '='));
        if let Some(p) = &v.period {
            header_lines.push(p.clone());
        }
        let mut numbers = RefNumbers::default();
        let mut personal = Vec::new();
        let mut opening = Vec::new();
        let header = snippet(&mut numbers, v, extras.header, extras.slots, &mut personal);
        for text in [header, plain(&mut numbers, v, &issue.lead)] {
            if !text.is_empty() {
                opening.push(text);
            }
        }
        let mut sections = Vec::new();
        if let Some(intro) = &issue.intro {
            sections.push(section(&mut numbers, &intro.title, None, &intro.blocks, &[], v));
        }
        for (a, related) in issue.articles.iter().zip(&v.related) {
            let url = article_url(a, v.base.as_ref());
            sections.push(section(&mut numbers, &a.title, url, &a.blocks, related, v));
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
            opening,
            toc: toc(issue, v),
            sections,
            more_links: more.join("\n"),
            notes: notes(&mut numbers, issue, v),
            footer: snippet(&mut numbers, v, extras.footer, extras.slots, &mut personal),
            why: wrap_hanging(&why, TEXT_WIDTH, "", "").join("\n"),
            unsubscribe_fallback: wrap_hanging(&fallback, TEXT_WIDTH, "", "").join("\n"),
            slots: extras.slots,
            personal,
        }
    }
}

/// A theme snippet's text, or, when it holds personal fields, the marker of
/// a snippet rendered per recipient (its link numbers reserved here).
fn snippet(
    numbers: &mut RefNumbers,
    v: &IssueView,
    blocks: Option<&[Block]>,
    slots: &Slots,
    personal: &mut Vec<TextSnippet>,
) -> String {
    let blocks = blocks.unwrap_or_default();
    let first_ref = numbers.used();
    let text = plain(numbers, v, blocks);
    if !slots.has_field(&text) {
        return text;
    }
    personal.push(TextSnippet {
        blocks: blocks.to_vec(),
        first_ref,
    });
    slots.snippet(personal.len() - 1)
}

fn toc(issue: &Issue, v: &IssueView) -> String {
    if !(v.theme.toc && issue.articles.len() >= 2) {
        return String::new();
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
    toc.join("\n")
}

/// Untitled blocks (a snippet, the lead) and their link references.
fn plain(numbers: &mut RefNumbers, v: &IssueView, blocks: &[Block]) -> String {
    super::snippet::plain(numbers, v.base.as_ref(), &v.labels, blocks)
}

/// The footnotes as `[^n] text`, under their heading.
fn notes(numbers: &mut RefNumbers, issue: &Issue, v: &IssueView) -> String {
    if issue.footnotes.is_empty() {
        return String::new();
    }
    let mut w = TextWriter::new(numbers, v.base.as_ref(), &v.labels);
    w.lines.push(v.labels.notes.clone());
    for f in &issue.footnotes {
        let marker = format!("[^{}] ", f.number);
        let hang = " ".repeat(marker.len());
        for (i, b) in f.blocks.iter().enumerate() {
            w.block(b, if i == 0 { &marker } else { &hang }, &hang);
        }
    }
    w.blank();
    w.flush_refs();
    trimmed(w.lines)
}

fn trimmed(mut lines: Vec<String>) -> String {
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
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
    let mut w = TextWriter::new(numbers, v.base.as_ref(), &v.labels);
    let title_lines = wrap_hanging(&one_line(title), TEXT_WIDTH, "", "");
    let rule = underline(&title_lines, '-');
    w.lines.extend(title_lines);
    w.lines.push(rule);
    if let Some(url) = url {
        w.lines.push(url);
    }
    w.blank();
    w.blocks(blocks);
    w.flush_refs();
    if !related.is_empty() {
        w.blank();
        w.lines.push(v.labels.related.to_string());
        for r in related {
            push_link_item(&mut w.lines, r, "- ", "  ");
        }
    }
    trimmed(w.lines)
}
