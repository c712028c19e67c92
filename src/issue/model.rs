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
    /// An editorial section before the articles (e.g. `## 개요`), when it is
    /// not the list of articles itself.
    pub intro: Option<Section>,
    pub articles: Vec<Article>,
    /// Top-level items of `## References`, in order.
    pub references: Vec<Reference>,
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
    Heading { level: u8, content: Vec<Inline> },
    List(List),
    CodeBlock { lang: Option<String>, code: String },
    BlockQuote(Vec<Block>),
    Rule,
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
    Link { url: String, content: Vec<Inline> },
    /// A hard line break.
    LineBreak,
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
            Inline::Emphasis(c)
            | Inline::Strong(c)
            | Inline::Strikethrough(c)
            | Inline::Link { content: c, .. } => {
                for i in c {
                    i.push_plain(out);
                }
            }
            Inline::LineBreak => out.push(' '),
        }
    }
}

impl Issue {
    /// The series name: the first `series` entry, else the title without its number.
    pub fn series_name(&self) -> String {
        if let Some(s) = self.front.series.first() {
            return s.clone();
        }
        match self.front.title.rsplit_once(", Issue") {
            Some((name, _)) => name.trim().to_string(),
            None => self.front.title.clone(),
        }
    }
}
