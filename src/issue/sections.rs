//! Cuts the body at top-level headings into the period, the intro, the
//! articles and the references, and pairs article N with reference N.

use super::markdown::{Located, Top};
use super::model::{Article, Block, Inline, Period, Reference, Section};
use chrono::NaiveDate;

/// A `#`/`##` section: its heading and the blocks up to the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSection {
    pub title: String,
    pub title_inlines: Vec<Inline>,
    /// Byte offset of the heading in the body.
    pub offset: usize,
    pub blocks: Vec<Block>,
}

/// What the sections of a body mean.
#[derive(Debug, Default)]
pub struct Sections {
    /// Blocks before the first heading: the introduction.
    pub lead: Vec<Block>,
    /// `Some(Ok)` for a readable period, `Some(Err(offset))` when `## Period`
    /// is there but its text is not a date range.
    pub period: Option<Result<Period, usize>>,
    pub intro: Option<RawSection>,
    pub articles: Vec<RawSection>,
    /// The references heading, when present.
    pub references: Option<RawSection>,
    /// Top-level headings after `## References` (still articles).
    pub after_references: Vec<usize>,
}

/// Groups top-level items under the `#` and `##` headings; the blocks
/// before the first one are the lead.
pub fn split(items: Vec<Located>) -> (Vec<Block>, Vec<RawSection>) {
    let mut preamble = Vec::new();
    let mut sections: Vec<RawSection> = Vec::new();
    for Located { offset, top } in items {
        match top {
            Top::Heading { level, content } if level <= 2 => sections.push(RawSection {
                title: heading_text(&content),
                title_inlines: content,
                offset,
                blocks: Vec::new(),
            }),
            Top::Heading { level, content } => {
                push_block(&mut sections, &mut preamble, Block::Heading { level, content })
            }
            Top::Block(b) => push_block(&mut sections, &mut preamble, b),
        }
    }
    (preamble, sections)
}

fn push_block(sections: &mut [RawSection], preamble: &mut Vec<Block>, block: Block) {
    match sections.last_mut() {
        Some(s) => s.blocks.push(block),
        None => preamble.push(block),
    }
}

fn heading_text(content: &[Inline]) -> String {
    Inline::plain_text(content)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_references(title: &str) -> bool {
    matches!(title.to_lowercase().as_str(), "references" | "reference")
}

fn is_intro(title: &str) -> bool {
    matches!(
        title.to_lowercase().as_str(),
        "개요" | "overview" | "intro" | "introduction" | "summary" | "들어가며"
    )
}

/// Gives each section its role.
pub fn classify(lead: Vec<Block>, sections: Vec<RawSection>) -> Sections {
    let mut out = Sections {
        lead,
        ..Sections::default()
    };
    for s in sections {
        if s.title.eq_ignore_ascii_case("period") && out.period.is_none() {
            out.period = Some(period(&s.blocks).ok_or(s.offset));
        } else if is_references(&s.title) && out.references.is_none() {
            out.references = Some(s);
        } else if is_intro(&s.title) && out.intro.is_none() && out.articles.is_empty() {
            out.intro = Some(s);
        } else {
            if out.references.is_some() {
                out.after_references.push(s.offset);
            }
            out.articles.push(s);
        }
    }
    out
}

/// `` `2024-06-16` ~ `2024-06-22` ``: the first paragraph with two code-span dates.
fn period(blocks: &[Block]) -> Option<Period> {
    let Block::Paragraph(inlines) = blocks.first()? else {
        return None;
    };
    let dates: Vec<NaiveDate> = inlines
        .iter()
        .filter_map(|i| match i {
            Inline::Code(c) => NaiveDate::parse_from_str(c.trim(), "%Y-%m-%d").ok(),
            _ => None,
        })
        .collect();
    let text = Inline::plain_text(inlines);
    match dates[..] {
        [start, end] if text.contains('~') => Some(Period { start, end }),
        _ => None,
    }
}

/// A reference item: its URL, link text and nested related links.
/// `locate` maps a URL to its 1-based line (searching forward).
pub fn references(blocks: &[Block], locate: &mut dyn FnMut(&str) -> usize) -> (Vec<Reference>, usize) {
    let mut refs = Vec::new();
    let mut unreadable = 0;
    for block in blocks {
        let Block::List(list) = block else {
            continue;
        };
        for item in &list.items {
            match reference(item, locate) {
                Some(r) => refs.push(r),
                None => unreadable += 1,
            }
        }
    }
    (refs, unreadable)
}

fn reference(item: &[Block], locate: &mut dyn FnMut(&str) -> usize) -> Option<Reference> {
    let Some(Block::Paragraph(inlines)) = item.first() else {
        return None;
    };
    let (url, content) = first_link(inlines)?;
    let text = Inline::plain_text(content);
    let title = (text.trim() != url && !text.trim().is_empty()).then(|| text.trim().to_string());
    let line = locate(url);
    let mut related = Vec::new();
    for block in &item[1..] {
        if let Block::List(list) = block {
            related.extend(list.items.iter().filter_map(|i| reference(i, locate)));
        }
    }
    Some(Reference {
        url: url.to_string(),
        title,
        line,
        related,
    })
}

fn first_link(inlines: &[Inline]) -> Option<(&str, &[Inline])> {
    inlines.iter().find_map(|i| match i {
        Inline::Link { url, content } => Some((url.as_str(), content.as_slice())),
        Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => first_link(c),
        _ => None,
    })
}

/// The link an item opens with (ignoring whitespace and emphasis around it).
fn leading_link(inlines: &[Inline]) -> Option<(&str, &[Inline])> {
    let first = inlines
        .iter()
        .find(|i| !matches!(i, Inline::Text(t) if t.trim().is_empty()))?;
    match first {
        Inline::Link { url, content } => Some((url.as_str(), content.as_slice())),
        Inline::Strong(c) | Inline::Emphasis(c) => leading_link(c),
        _ => None,
    }
}

/// Quotes around a title are decoration (`”**Push Notifications…”**`).
fn clean_title(text: &str) -> String {
    let quotes: &[char] = &['"', '\'', '“', '”', '‘', '’', '「', '」'];
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    t.trim_matches(quotes).trim().to_string()
}

/// Overview-style issues (no article headings): the top-level bullets of
/// the intro that open with a link are the articles; if none does, the
/// whole intro is one article named by its first link.
pub fn overview_articles(intro: &RawSection, locate: &mut dyn FnMut(&str) -> usize) -> Vec<Article> {
    let mut articles = Vec::new();
    for block in &intro.blocks {
        let Block::List(list) = block else { continue };
        for item in &list.items {
            let Some(Block::Paragraph(first)) = item.first() else {
                continue;
            };
            let Some((url, content)) = leading_link(first) else {
                continue;
            };
            let only_link = first
                .iter()
                .filter(|i| !matches!(i, Inline::Text(t) if t.trim().is_empty()))
                .count()
                == 1;
            let blocks = if only_link { item[1..].to_vec() } else { item.to_vec() };
            articles.push(Article {
                title: clean_title(&Inline::plain_text(content)),
                title_inlines: content.to_vec(),
                line: locate(url),
                blocks,
                url: Some(url.to_string()),
            });
        }
    }
    if articles.is_empty() {
        let first = intro.blocks.iter().find_map(|b| match b {
            Block::Paragraph(i) => first_link(i),
            Block::List(l) => l.items.iter().flatten().find_map(|b| match b {
                Block::Paragraph(i) => first_link(i),
                _ => None,
            }),
            _ => None,
        });
        if let Some((url, content)) = first {
            articles.push(Article {
                title: clean_title(&Inline::plain_text(content)),
                title_inlines: content.to_vec(),
                line: locate(url),
                blocks: intro.blocks.clone(),
                url: Some(url.to_string()),
            });
        }
    }
    articles
}

/// A section as an article (its URL is filled in by pairing).
pub fn article(s: RawSection, line: usize) -> Article {
    Article {
        title: s.title,
        title_inlines: s.title_inlines,
        line,
        blocks: s.blocks,
        url: None,
    }
}

/// A section as the intro.
pub fn section(s: RawSection, line: usize) -> Section {
    Section {
        title: s.title,
        line,
        blocks: s.blocks,
    }
}

/// Article N gets reference N's URL, only when the counts match.
pub fn pair(articles: &mut [Article], references: &[Reference]) -> bool {
    if articles.len() != references.len() {
        return false;
    }
    for (a, r) in articles.iter_mut().zip(references) {
        a.url = Some(r.url.clone());
    }
    true
}
