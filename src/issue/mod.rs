//! Issue files: front matter, markdown body, and the checks `newsletter check` runs.
//!
//! `parse` is pure (path only for messages); `from_file` reads the bytes and
//! rejects binary, non-UTF-8 and empty files with a line number.

mod autolink;
mod dates;
pub mod files;
mod frontmatter;
mod images;
mod keys;
mod lint;
mod markdown;
mod model;
mod nesting;
mod pelican;
mod rawhtml;
mod sections;
mod yaml;

pub(crate) use dates::parse_date;
pub use images::walk_blocks;
pub use model::*;
pub use rawhtml::{BLOCK_ALLOWED, CONTENT_DROPPED, INLINE_ALLOWED};

use crate::diag::{line_col, Diagnostic, LineIndex};
use std::path::Path;

/// A parsed issue and the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub issue: Issue,
    pub warnings: Vec<Diagnostic>,
}

/// Reads an issue file. Errors are diagnostics (`path:line:col`).
pub fn from_file(path: &Path) -> Result<Parsed, Vec<Diagnostic>> {
    let bytes = crate::files::read(path, crate::files::MAX_ISSUE_BYTES)
        .map_err(|e| vec![Diagnostic::error(path, 0, 0, format!("cannot read issue: {e}"))])?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, col) = line_col(valid, valid.len());
            let byte = bytes[e.valid_up_to()];
            let msg = if bytes.contains(&0) {
                format!("not a text file: invalid UTF-8 (byte 0x{byte:02X}) in what looks like binary data")
            } else {
                format!("not UTF-8 text: invalid byte 0x{byte:02X}")
            };
            return Err(vec![
                Diagnostic::error(path, line, col, msg).with_hint("save the issue as UTF-8 markdown")
            ]);
        }
    };
    let mut parsed = parse(path, text)?;
    images::fill_sizes(&mut parsed.issue, path.parent().unwrap_or(Path::new(".")));
    Ok(parsed)
}

/// Parses issue text. `path` names the file in diagnostics and gives the id.
pub fn parse(path: &Path, text: &str) -> Result<Parsed, Vec<Diagnostic>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    reject_non_text(path, text)?;
    let split = frontmatter::split(path, text).map_err(|d| vec![d])?;
    let front = frontmatter::parse(path, text, &split)?;
    let body_start = split.body_start;
    let body_text = &text[body_start..];
    // Every recursion over the model below is bounded by this check.
    nesting::check(body_text, markdown::options()).map_err(|deep| {
        let (line, col) = line_col(text, body_start + deep.offset);
        vec![Diagnostic::error(path, line, col, nesting::message()).with_hint(nesting::HINT)]
    })?;
    let mut body = markdown::parse(body_text);
    let lines = LineIndex::new(text);
    let line_at = |offset: usize| lines.line(body_start + offset);
    let summary = body.more_at.map(|at| summary_before(&body.items, at));

    let (lead, raw_sections) = sections::split(std::mem::take(&mut body.items));
    let mut s = sections::classify(lead, raw_sections);

    let locator = |from: usize| locate_from(&lines, text, body_start + from);
    let (references, unreadable_refs) = match &s.references {
        Some(r) => sections::references(&r.blocks, &mut locator(r.offset)),
        None => (Vec::new(), 0),
    };
    let (articles, paired) = articles(&mut s, &references, &locator, &line_at);

    let mut issue = Issue {
        id: front
            .slug
            .clone()
            .unwrap_or_else(|| dates::issue_stem(path).unwrap_or_else(|| "issue".into())),
        path: path.to_path_buf(),
        number: front.number.or_else(|| issue_number(&front.title)),
        period: s.period.and_then(Result::ok),
        lead: std::mem::take(&mut s.lead),
        summary: summary.filter(|s| !s.is_empty()),
        intro: s.intro.take().map(|i| {
            let line = line_at(i.offset);
            sections::section(i, line)
        }),
        articles,
        references,
        footnotes: std::mem::take(&mut body.footnotes),
        lang: String::new(),
        front,
    };
    issue.lang = detect_lang(&prose(&issue)).to_string();
    let facts = lint::Facts {
        text,
        lines: &lines,
        body_start,
        links: &body.links,
        period: s.period,
        notes: &body.notes,
        references_heading: s.references.as_ref().map(|r| r.offset),
        unreadable_refs,
        after_references: &s.after_references,
        paired,
    };
    let warnings = lint::warnings(&issue, &facts);
    Ok(Parsed { issue, warnings })
}

/// References and overview links are located by searching forward for
/// their URL from `start`: the 1-based line of each URL in turn. Within a
/// window, and lines from the index: a URL not written as parsed (entities,
/// reference links) must not cost a scan of the rest of the file each time.
fn locate_from<'a>(lines: &'a LineIndex<'a>, text: &'a str, start: usize) -> impl FnMut(&str) -> usize + 'a {
    const WINDOW: usize = 64 << 10;
    let mut cursor = start;
    move |url: &str| -> usize {
        let end = crate::diag::floor_char_boundary(text, (cursor + WINDOW).min(text.len()));
        match text.get(cursor..end).and_then(|t| t.find(url)) {
            Some(i) => {
                cursor += i + url.len();
                lines.line(cursor - url.len())
            }
            None => lines.line(cursor),
        }
    }
}

/// The articles: one per `##` section, or, in overview issues (no article
/// headings), the link bullets of the intro; and whether they are paired
/// with the references.
fn articles<L: FnMut(&str) -> usize>(
    s: &mut sections::Sections,
    references: &[Reference],
    locator: &dyn Fn(usize) -> L,
    line_at: &dyn Fn(usize) -> usize,
) -> (Vec<Article>, bool) {
    if s.articles.is_empty() && s.intro.is_some() {
        let intro = s.intro.take().expect("checked above");
        let found = sections::overview_articles(&intro, &mut locator(intro.offset));
        if found.is_empty() {
            s.intro = Some(intro);
        }
        let paired = found.len() == references.len();
        return (found, paired);
    }
    let mut articles: Vec<Article> = std::mem::take(&mut s.articles)
        .into_iter()
        .map(|a| {
            let line = line_at(a.offset);
            sections::article(a, line)
        })
        .collect();
    let paired = sections::pair(&mut articles, references);
    (articles, paired)
}

/// An empty file or one with NUL bytes is not an issue.
fn reject_non_text(path: &Path, text: &str) -> Result<(), Vec<Diagnostic>> {
    if text.trim().is_empty() {
        let hint =
            "an issue starts with `+++` front matter (title, date), then `## Period`, articles and `## References`";
        return Err(vec![Diagnostic::error(
            path,
            1,
            1,
            "empty file: no front matter and no articles",
        )
        .with_hint(hint)]);
    }
    if let Some(nul) = text.find('\0') {
        let (line, col) = line_col(text, nul);
        let msg = "not a text file: contains a NUL byte";
        return Err(vec![
            Diagnostic::error(path, line, col, msg).with_hint("save the issue as UTF-8 markdown")
        ]);
    }
    Ok(())
}

/// A markdown snippet (the theme's header or footer) as blocks; headings
/// are blocks too, there are no sections. Nested too deeply: the message.
pub fn snippet_blocks(text: &str) -> Result<Vec<Block>, String> {
    nesting::check(text, markdown::options()).map_err(|_| nesting::message())?;
    Ok(markdown::parse(text)
        .items
        .into_iter()
        .map(|l| match l.top {
            markdown::Top::Block(b) => b,
            markdown::Top::Heading { level, content } => Block::Heading { level, content },
        })
        .collect())
}

/// The text of the top-level blocks before `<!-- more -->`, on one line.
fn summary_before(items: &[markdown::Located], more_at: usize) -> String {
    let text: Vec<String> = items
        .iter()
        .take_while(|l| l.offset < more_at)
        .filter_map(|l| match &l.top {
            markdown::Top::Block(b) => Some(markdown::block_text(b)),
            markdown::Top::Heading { .. } => None,
        })
        .collect();
    text.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Article Weekly, Issue 25` → 25 (also `Issue #25`).
fn issue_number(title: &str) -> Option<u32> {
    let lower = title.to_lowercase();
    let at = lower.rfind("issue")?;
    let rest = lower[at + "issue".len()..].trim_start();
    let digits = rest.strip_prefix('#').unwrap_or(rest).trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The running text of an issue: titles and paragraphs, without code and
/// URLs, which would count as English in any issue.
fn prose(issue: &Issue) -> String {
    fn inlines(out: &mut String, content: &[Inline]) {
        for i in content {
            match i {
                Inline::Text(t) => out.push_str(t),
                Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => inlines(out, c),
                Inline::Image { alt, .. } => out.push_str(alt),
                Inline::Link { url, content } if Inline::plain_text(content) != *url => inlines(out, content),
                _ => {}
            }
            out.push(' ');
        }
    }
    fn blocks(out: &mut String, content: &[Block]) {
        for b in content {
            match b {
                Block::Paragraph(c) | Block::Heading { content: c, .. } => inlines(out, c),
                Block::List(l) => l.items.iter().for_each(|item| blocks(out, item)),
                Block::BlockQuote(c) => blocks(out, c),
                Block::Table(t) => t
                    .head
                    .iter()
                    .chain(t.rows.iter().flatten())
                    .for_each(|c| inlines(out, c)),
                Block::CodeBlock { .. } | Block::Rule | Block::Html(_) => {}
            }
        }
    }
    let mut out = String::new();
    blocks(&mut out, &issue.lead);
    if let Some(intro) = &issue.intro {
        blocks(&mut out, &intro.blocks);
    }
    for a in &issue.articles {
        inlines(&mut out, &a.title_inlines);
        blocks(&mut out, &a.blocks);
    }
    out
}

/// `ko` when the body has a good share of Hangul (a syllable carries about
/// as much as three Latin letters), else `en`.
fn detect_lang(body: &str) -> &'static str {
    let hangul = body.chars().filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c)).count();
    let latin = body.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if hangul > 0 && hangul * 3 >= latin {
        "ko"
    } else {
        "en"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_numbers() {
        assert_eq!(issue_number("Article Weekly, Issue 25"), Some(25));
        assert_eq!(issue_number("Field Notes Weekly, Issue #47"), Some(47));
        assert_eq!(issue_number("Article Weekly 21"), None);
        assert_eq!(issue_number("Issue tracker"), None);
    }

    #[test]
    fn language() {
        assert_eq!(detect_lang("이번 주는 Rust와 SQLite 이야기"), "ko");
        assert_eq!(detect_lang("This week: Rust and SQLite"), "en");
    }
}
