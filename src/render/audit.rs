//! Accessibility and compatibility problems of a rendered issue, for
//! `newsletter check` and the pre-send gate: images without alt text or
//! without an address mail can load, links whose text says nothing ("here"),
//! links mail cannot carry, and a body Gmail would clip. Read from the
//! rendered HTML (as html5ever parses it) and, where the HTML cannot tell,
//! from the issue; each problem points at the issue's line that caused it.

use super::view::resolve_url;
use super::GMAIL_CLIP_BYTES;
use crate::config::Config;
use crate::diag::{line_col, Diagnostic};
use crate::issue::{Block, Inline, Issue};
use ammonia::Url;
use scraper::{Html, Selector};

/// Link texts that do not say where a link goes (compared lower-cased,
/// without surrounding punctuation).
const MEANINGLESS: &[&str] = &[
    "here",
    "click here",
    "click",
    "this",
    "this link",
    "link",
    "more",
    "read more",
    "this page",
    "go",
    "see",
    "여기",
    "여기를 클릭",
    "여기를 클릭하세요",
    "클릭",
    "링크",
    "이 링크",
    "이곳",
    "바로가기",
    "더보기",
    "자세히",
    "자세히 보기",
];

/// Problems of `issue` rendered as `html`; `source` is the issue file's text.
pub fn audit(issue: &Issue, cfg: &Config, html: &str, source: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let at = |needle: &str| {
        let offset = (!needle.is_empty()).then(|| source.find(needle)).flatten();
        offset.map_or((1, 1), |o| line_col(source, o))
    };
    let mut warn = |needle: &str, msg: String, hint: &str| {
        let (line, col) = at(needle);
        out.push(Diagnostic::warning(&issue.path, line, col, msg).with_hint(hint));
    };
    let doc = Html::parse_document(html);
    let img = Selector::parse(".content img, .snippet img").expect("valid selector");
    for el in doc.select(&img) {
        let src = el.value().attr("src").unwrap_or_default();
        if el.value().attr("alt").is_none_or(|a| a.trim().is_empty()) {
            let needle = if source.contains(src) {
                src.to_string()
            } else {
                relative_part(src)
            };
            warn(
                &needle,
                format!("image `{src}` has no alt text: screen readers and mail with images off show nothing"),
                "describe the image: ![what it shows](url)",
            );
        }
    }
    let link = Selector::parse(".content a[href], .snippet a[href]").expect("valid selector");
    for el in doc.select(&link) {
        let href = el.value().attr("href").unwrap_or_default();
        let text: String = el
            .text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let has_img_alt = el
            .select(&Selector::parse("img[alt]").expect("valid selector"))
            .any(|i| !i.value().attr("alt").unwrap_or_default().trim().is_empty());
        let key = text
            .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
            .to_lowercase();
        if text.is_empty() && !has_img_alt && !href.starts_with('#') {
            warn(
                href,
                format!("link to {href} has no text"),
                "write the link as [what it leads to](url)",
            );
        } else if MEANINGLESS.contains(&key.as_str()) {
            warn(
                href,
                format!("link text `{text}` does not say where the link goes ({href})"),
                "name the destination, e.g. [the release notes](url)",
            );
        }
    }
    let base = super::view::issue_base(issue, cfg);
    model_problems(issue, base.as_ref(), &mut warn);
    let size = html.len();
    if size > GMAIL_CLIP_BYTES {
        warn(
            "",
            format!(
                "rendered HTML is about {} KB; Gmail clips messages above {} KB and hides the unsubscribe link",
                size / 1000,
                GMAIL_CLIP_BYTES / 1000
            ),
            "split the issue or shorten it",
        );
    }
    out
}

/// Images and links the renderer could not emit, seen in the issue itself.
fn model_problems(issue: &Issue, base: Option<&Url>, warn: &mut impl FnMut(&str, String, &str)) {
    let mut inlines = Vec::new();
    let mut groups: Vec<&[Block]> = vec![&issue.lead];
    groups.extend(issue.intro.iter().map(|s| s.blocks.as_slice()));
    groups.extend(issue.articles.iter().map(|a| a.blocks.as_slice()));
    groups.extend(issue.footnotes.iter().map(|f| f.blocks.as_slice()));
    for blocks in groups {
        collect(blocks, &mut inlines);
    }
    for inline in inlines {
        match inline {
            Inline::Image { url, .. } if resolve_url(base, url).is_none() => warn(
                url,
                format!("image `{url}` is not shown: mail needs a full address"),
                "write an https:// URL, or set archive_url so relative addresses resolve against the issue's web page",
            ),
            Inline::Link { url, .. } if !url.starts_with('#') && resolve_url(base, url).is_none() => warn(
                url,
                format!("link `{url}` is shown as text only: mail carries https, http and mailto links"),
                "write a full https:// URL, or set archive_url so relative links resolve",
            ),
            _ => {}
        }
    }
}

fn collect<'a>(blocks: &'a [Block], out: &mut Vec<&'a Inline>) {
    fn inl<'a>(inlines: &'a [Inline], out: &mut Vec<&'a Inline>) {
        for i in inlines {
            out.push(i);
            if let Inline::Emphasis(c)
            | Inline::Strong(c)
            | Inline::Strikethrough(c)
            | Inline::Link { content: c, .. } = i
            {
                inl(c, out);
            }
        }
    }
    for b in blocks {
        match b {
            Block::Paragraph(i) | Block::Heading { content: i, .. } => inl(i, out),
            Block::List(l) => l.items.iter().for_each(|item| collect(item, out)),
            Block::BlockQuote(inner) => collect(inner, out),
            Block::Table(t) => t.head.iter().chain(t.rows.iter().flatten()).for_each(|c| inl(c, out)),
            Block::CodeBlock { .. } | Block::Rule | Block::Html(_) => {}
        }
    }
}

/// What of a resolved URL the issue file may have written: the part after
/// the last `/`, which is in the file whether it wrote it relative or whole.
fn relative_part(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}
