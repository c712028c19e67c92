//! The `Issue` model: plain data produced by the parser and walked by the renderers.
//!
//! Nothing here depends on pulldown-cmark, so the HTML and text renderers can
//! walk the tree independently and tests can build issues by hand.

use chrono::{DateTime, FixedOffset, NaiveDate};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One newsletter issue, parsed from a markdown file.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Front matter `slug` if set, else the file stem (`issue-025`).
    pub id: String,
    /// The file it came from (as given, for messages).
    pub path: PathBuf,
    pub front: FrontMatter,
    /// From the title (`Article Weekly, Issue 25` -> 25) when present.
    pub number: Option<u32>,
    pub period: Option<Period>,
    /// The text before the first `#`/`##` heading: the issue's introduction
    /// (the "Welcome to a new issue…" paragraph of most newsletters).
    pub lead: Vec<Block>,
    /// The text before a `<!-- more -->` marker (Hugo, Zola), as one line:
    /// the preheader, when present.
    pub summary: Option<String>,
    /// An editorial section before the articles (e.g. `## 개요`), when it is
    /// not the list of articles itself.
    pub intro: Option<Section>,
    pub articles: Vec<Article>,
    /// Top-level items of `## References`, in order.
    pub references: Vec<Reference>,
    /// Footnote definitions, numbered in the order of their first reference.
    pub footnotes: Vec<Footnote>,
    /// BCP 47 language of the text: `ko` when the body is mostly Hangul, else `en`.
    pub lang: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FrontMatter {
    pub title: String,
    pub date: DateTime<FixedOffset>,
    /// False when the front matter gave a bare date (then `date` is midnight UTC).
    pub date_has_time: bool,
    pub authors: Vec<String>,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub series: Vec<String>,
    pub draft: bool,
    pub slug: Option<String>,
    pub description: Option<String>,
    /// `number` (Pelican) or `issue` (Eleventy) when it is a number.
    pub number: Option<u32>,
    /// Keys we do not know, kept as their TOML/YAML text rendered to strings.
    pub extra: BTreeMap<String, String>,
}

/// `## Period` with `` `2024-06-16` ~ `2024-06-22` ``.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// A `##` section that is not an article (the intro).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub line: usize,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Plain text of the heading (bold and code spans flattened).
    pub title: String,
    /// The heading as inlines, for renderers that keep code spans.
    pub title_inlines: Vec<Inline>,
    /// 1-based line of the heading (or of the bullet, for overview issues).
    pub line: usize,
    pub blocks: Vec<Block>,
    /// The paired reference URL (reference N for article N when the counts
    /// match, or the article's own link in overview issues).
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub url: String,
    /// Link text for `[title](url)` items.
    pub title: Option<String>,
    pub line: usize,
    /// Nested items: sources or related links, never articles.
    pub related: Vec<Reference>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    /// `###` and deeper inside an article.
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    List(List),
    CodeBlock {
        lang: Option<String>,
        code: String,
    },
    BlockQuote(Vec<Block>),
    Rule,
    /// A GFM table.
    Table(Table),
    /// An HTML block of the post, comments removed. Renderers clean it with
    /// an allowlist sanitizer (HTML body) or take its text (text body).
    Html(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    None,
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub aligns: Vec<Align>,
    pub head: Vec<Vec<Inline>>,
    pub rows: Vec<Vec<Vec<Inline>>>,
}

/// `[^label]: …`, numbered by its first reference (unreferenced ones last).
#[derive(Debug, Clone, PartialEq)]
pub struct Footnote {
    pub number: usize,
    pub label: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// `Some(n)` for an ordered list starting at n.
    pub start: Option<u64>,
    /// Each item is a sequence of blocks (a tight item is one paragraph).
    pub items: Vec<Vec<Block>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Code(String),
    Emphasis(Vec<Inline>),
    Strong(Vec<Inline>),
    Strikethrough(Vec<Inline>),
    /// `url` is as written; renderers decide which schemes they emit.
    Link {
        url: String,
        content: Vec<Inline>,
    },
    /// A hard line break.
    LineBreak,
    /// `![alt](url "title")` or `<img>`; width and height in pixels when known.
    Image {
        url: String,
        alt: String,
        title: Option<String>,
        width: Option<u32>,
        height: Option<u32>,
    },
    /// One tag of inline HTML from the allowlist, as written (`<span class="x">`,
    /// `</span>`): the HTML body keeps it for the sanitizer, the text body drops it.
    Html(String),
    /// A reference to footnote N (1-based).
    FootnoteRef(usize),
    /// A task list checkbox: `[x]` (true) or `[ ]`.
    Task(bool),
}

impl Inline {
    /// Plain text of a run of inlines (links keep their text, code its content).
    pub fn plain_text(inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            inline.push_plain(&mut out);
        }
        out
    }

    fn push_plain(&self, out: &mut String) {
        match self {
            Inline::Text(t) | Inline::Code(t) => out.push_str(t),
            Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) | Inline::Link { content: c, .. } => {
                for i in c {
                    i.push_plain(out);
                }
            }
            Inline::LineBreak => out.push(' '),
            Inline::Image { alt, .. } => out.push_str(alt),
            Inline::Html(_) | Inline::FootnoteRef(_) | Inline::Task(_) => {}
        }
    }
}

impl Issue {
    /// The series name: the first `series` entry, else the title without
    /// its number (`Article Weekly, Issue 25`, `This Week in Rust 552`),
    /// else the first category, else the title.
    pub fn series_name(&self) -> String {
        if let Some(s) = self.front.series.first() {
            return s.clone();
        }
        if let Some(prefix) = self.title_prefix() {
            return prefix;
        }
        match self.front.categories.first() {
            Some(c) => c.clone(),
            None => self.front.title.clone(),
        }
    }

    /// The title before its issue number, when the title is only a series
    /// name and the number: `Article Weekly, Issue 25` → `Article Weekly`.
    pub fn title_prefix(&self) -> Option<String> {
        let n = self.number?.to_string();
        let title = self.front.title.trim();
        let rest = title.strip_suffix(n.as_str())?.trim_end();
        let rest = rest.strip_suffix('#').unwrap_or(rest).trim_end();
        let cut = rest.len().saturating_sub("issue".len());
        let rest = match rest.get(cut..) {
            Some(tail) if tail.eq_ignore_ascii_case("issue") => &rest[..cut],
            _ => rest,
        };
        let prefix = rest.trim_end().trim_end_matches([',', ':', '-', '·']).trim_end();
        (!prefix.is_empty()).then(|| prefix.to_string())
    }
}
