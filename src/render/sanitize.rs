//! The HTML of an issue's blocks, cleaned by ammonia (an allowlist HTML
//! sanitizer built on html5ever): only the elements our renderer writes and
//! the inline and block elements a post may carry survive, with a few
//! attributes each; links and images only with http(s) (and mailto) URLs,
//! relative ones resolved against the issue's archive URL or removed; no
//! comments, scripts, styles or event handlers. Unbalanced tags are closed.

use crate::issue::{BLOCK_ALLOWED, CONTENT_DROPPED, INLINE_ALLOWED};
use ammonia::{Builder, Url, UrlRelative};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Elements the renderer writes besides the allowlists of the parser.
const OURS: &[&str] = &[
    "a", "img", "sup", "span", "div", "table", "thead", "tbody", "tr", "th", "td",
];

/// Classes the stylesheet gives meaning to; any other class is removed.
const CLASSES: &[(&str, &[&str])] = &[("div", &["table-wrap"]), ("span", &["task"]), ("sup", &["fnref"])];

const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "title"]),
    ("img", &["src", "alt", "width", "height", "title"]),
    ("ol", &["start"]),
    ("li", &["value"]),
    ("table", &["cellpadding", "cellspacing", "border", "width", "role"]),
    ("th", &["scope", "align", "colspan", "rowspan"]),
    ("td", &["align", "colspan", "rowspan"]),
    ("abbr", &["title"]),
    ("time", &["datetime"]),
    ("span", &["role", "aria-label"]),
    ("p", &["align"]),
    ("div", &["align"]),
];

/// A sanitizer for one issue (relative URLs depend on its archive URL).
pub struct Sanitizer {
    builder: Builder<'static>,
}

impl Sanitizer {
    /// `base`: the issue's web address, against which relative links and
    /// image sources are resolved; without it they are removed.
    pub fn new(base: Option<Url>) -> Self {
        let mut b = Builder::empty();
        let tags: HashSet<&'static str> = BLOCK_ALLOWED
            .iter()
            .chain(INLINE_ALLOWED)
            .chain(OURS)
            .copied()
            .collect();
        let content_dropped: HashSet<&'static str> = CONTENT_DROPPED.iter().copied().collect();
        b.tags(tags)
            .clean_content_tags(content_dropped)
            .tag_attributes(
                ATTRIBUTES
                    .iter()
                    .map(|(t, a)| (*t, a.iter().copied().collect()))
                    .collect(),
            )
            .allowed_classes(
                CLASSES
                    .iter()
                    .map(|(t, c)| (*t, c.iter().copied().collect()))
                    .collect::<HashMap<_, _>>(),
            )
            .generic_attributes(["lang", "dir"].into_iter().collect())
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(None)
            .strip_comments(true)
            .url_relative(UrlRelative::Custom(Box::new(Relative(base))));
        Sanitizer { builder: b }
    }

    pub fn clean(&self, html: &str) -> String {
        // ammonia leaves `class=""` where it removed every class; attribute
        // values are escaped, so this text only occurs as that attribute.
        self.builder.clean(html).to_string().replace(" class=\"\"", "")
    }
}

/// The evaluator ammonia calls for each relative URL.
struct Relative(Option<Url>);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for Relative {
    fn evaluate<'u>(&self, url: &'u str) -> Option<Cow<'u, str>> {
        resolve(self.0.as_ref(), url)
    }
}

/// Footnote references stay as written (they point inside the mail);
/// other relative URLs are resolved against `base`, or removed.
fn resolve<'u>(base: Option<&Url>, url: &'u str) -> Option<Cow<'u, str>> {
    if url
        .strip_prefix("#fn-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(Cow::Borrowed(url));
    }
    let joined = base?.join(url).ok()?;
    matches!(joined.scheme(), "http" | "https").then(|| Cow::Owned(joined.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        Sanitizer::new(None).clean(html)
    }

    #[test]
    fn allowlist() {
        assert_eq!(
            clean("<span class=\"gray\" onclick=\"x()\">a</span><b style=\"color:red\">b</b><kbd>c</kbd><sup>1</sup>"),
            "<span>a</span><b>b</b><kbd>c</kbd><sup>1</sup>"
        );
        assert_eq!(
            clean("<script>alert(1)</script><iframe src=\"https://e.example\">fallback</iframe><details><summary>S</summary>t</details>"),
            "St"
        );
        assert_eq!(
            clean("<a href=\"javascript:alert(1)\">x</a><a href=\"https://e.example/\">y</a><img src=\"data:x\" alt=\"z\">"),
            "<a>x</a><a href=\"https://e.example/\">y</a><img alt=\"z\">"
        );
        assert_eq!(clean("<b>open <i>nested"), "<b>open <i>nested</i></b>");
        assert_eq!(clean("a<!-- note -->b"), "ab");
    }

    #[test]
    fn relative_urls() {
        let base = Url::parse("https://example.com/weekly/52/").unwrap();
        let s = Sanitizer::new(Some(base));
        assert_eq!(
            s.clean("<img src=\"windbg.png\" alt=\"w\"><a href=\"/about\">a</a><sup class=\"fnref\"><a href=\"#fn-2\">2</a></sup>"),
            "<img src=\"https://example.com/weekly/52/windbg.png\" alt=\"w\"><a href=\"https://example.com/about\">a</a><sup class=\"fnref\"><a href=\"#fn-2\">2</a></sup>"
        );
        assert_eq!(clean("<img src=\"windbg.png\" alt=\"w\">"), "<img alt=\"w\">");
        assert_eq!(clean("<a href=\"#comment-form\">c</a>"), "<a>c</a>");
    }
}
