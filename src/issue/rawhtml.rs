//! Raw HTML in a post, as pulldown-cmark hands it over: comments (removed;
//! `<!-- more -->` marks the end of the summary), single tags inside a
//! paragraph, and HTML blocks. This module only reads tags to decide what the
//! parser keeps; the HTML body is cleaned by ammonia (`render::sanitize`),
//! whose allowlist is the one below.

/// Inline elements kept in mail (besides `<a>`, `<img>` and `<br>`, which
/// the parser turns into links, images and line breaks).
pub const INLINE_ALLOWED: &[&str] = &[
    "abbr", "b", "cite", "code", "del", "em", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strong",
    "sub", "sup", "time", "u", "var",
];

/// Block elements kept in an HTML block.
pub const BLOCK_ALLOWED: &[&str] = &[
    "a",
    "blockquote",
    "br",
    "caption",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Elements dropped with their content (the rest lose only their tags).
pub const CONTENT_DROPPED: &[&str] = &[
    "audio", "canvas", "embed", "iframe", "math", "noscript", "object", "script", "select", "style", "svg", "template",
    "textarea", "video",
];

/// Elements that never have content or a closing tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
];

/// HTML nested deeper than this is read as text: browsers (and html5ever,
/// which cleans and inlines the mail) check scopes per tag, so depth costs
/// time quadratically, and no mail needs it.
pub const MAX_DEPTH: usize = 32;

/// Whether `tag` opens an element that a closing tag must end.
pub fn opens(tag: &Tag) -> bool {
    !tag.closing && !tag.self_closing && !VOID.contains(&tag.name.as_str())
}

/// How deeply the elements of `html` nest (comments skipped).
pub fn depth(html: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for_each_tag(html, |_, tag| {
        if tag.closing {
            depth = depth.saturating_sub(1);
        } else if opens(tag) {
            depth += 1;
            max = max.max(depth);
        }
    });
    max
}

/// The text of `html` with every tag and comment removed (entities kept).
pub fn strip_tags(html: &str) -> String {
    let (clean, _) = strip_comments(html);
    let mut out = String::new();
    let mut rest = clean.as_str();
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        match tag_at(&rest[i..]) {
            Some((_, after)) => rest = after,
            None => {
                out.push('<');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every HTML element name, so that `<T>` or `<String>` in prose stays text
/// while `<iframe>` is recognised (and dropped).
const ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "base",
    "bdi",
    "bdo",
    "blockquote",
    "body",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "link",
    "main",
    "map",
    "mark",
    "marquee",
    "menu",
    "meta",
    "meter",
    "nav",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "param",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "script",
    "search",
    "section",
    "select",
    "slot",
    "small",
    "source",
    "span",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "svg",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "title",
    "tr",
    "track",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

pub fn is_element(name: &str) -> bool {
    ELEMENTS.contains(&name)
}

/// One tag: `<span class="x">`, `</span>`, `<br/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Lower-cased.
    pub name: String,
    pub closing: bool,
    /// Written `<x/>`.
    pub self_closing: bool,
    pub attrs: Vec<(String, String)>,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses `s` if it is exactly one tag (surrounding whitespace allowed).
pub fn parse_tag(s: &str) -> Option<Tag> {
    let (tag, rest) = tag_at(s.trim())?;
    rest.trim().is_empty().then_some(tag)
}

/// The tag at the start of `s` and the text after it.
fn tag_at(s: &str) -> Option<(Tag, &str)> {
    let mut rest = s.strip_prefix('<')?;
    let closing = rest.starts_with('/');
    if closing {
        rest = &rest[1..];
    }
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    let name = rest[..name_len].to_ascii_lowercase();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    rest = &rest[name_len..];
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        let end = [("/>", true), (">", false)]
            .into_iter()
            .find_map(|(close, self_closing)| Some((rest.strip_prefix(close)?, self_closing)));
        if let Some((after, self_closing)) = end {
            let tag = Tag {
                name,
                closing,
                self_closing,
                attrs,
            };
            return Some((tag, after));
        }
        let key_len = rest.find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/' | '"' | '\''))?;
        if key_len == 0 {
            return None;
        }
        let key = rest[..key_len].to_ascii_lowercase();
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '@'))
        {
            return None;
        }
        rest = rest[key_len..].trim_start();
        let mut value = String::new();
        if let Some(after_eq) = rest.strip_prefix('=') {
            let v = after_eq.trim_start();
            let (val, after) = match v.chars().next()? {
                q @ ('"' | '\'') => {
                    let end = v[1..].find(q)? + 1;
                    (&v[1..end], &v[end + 1..])
                }
                _ => {
                    let end = v.find(|c: char| c.is_whitespace() || c == '>').unwrap_or(v.len());
                    (&v[..end], &v[end..])
                }
            };
            value = val.to_string();
            rest = after;
        }
        attrs.push((key, value));
    }
}

/// `<!-- more -->` / `<!--more-->`: Hugo's and Zola's summary separator.
pub fn is_more_marker(comment: &str) -> bool {
    let inner = comment.trim().trim_start_matches("<!--").trim_end_matches("-->");
    inner.trim().eq_ignore_ascii_case("more")
}

/// The HTML without its comments, and whether one was the summary marker.
/// An unterminated comment runs to the end, as in a browser.
pub fn strip_comments(html: &str) -> (String, bool) {
    let mut out = String::new();
    let mut more = false;
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after[4..].find("-->").map_or(after.len(), |i| i + 4 + 3);
        more |= is_more_marker(&after[..end]);
        rest = &after[end..];
    }
    out.push_str(rest);
    (out, more)
}

/// Elements in `html` that mail will not show, with their byte offsets:
/// known elements outside [`BLOCK_ALLOWED`] and [`INLINE_ALLOWED`].
pub fn dropped_elements(html: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for_each_tag(html, |at, tag| {
        let kept = BLOCK_ALLOWED.contains(&tag.name.as_str()) || INLINE_ALLOWED.contains(&tag.name.as_str());
        if !tag.closing && !kept && is_element(&tag.name) {
            out.push((at, tag.name.clone()));
        }
    });
    out
}

/// Calls `f` with the byte offset of each tag in `html`, skipping comments.
fn for_each_tag(html: &str, mut f: impl FnMut(usize, &Tag)) {
    let mut from = 0;
    while let Some(i) = html[from..].find('<') {
        let at = from + i;
        if html[at..].starts_with("<!--") {
            from = html[at + 4..].find("-->").map_or(html.len(), |e| at + 4 + e + 3);
            continue;
        }
        if let Some((tag, _)) = tag_at(&html[at..]) {
            f(at, &tag);
        }
        from = at + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_attributes() {
        let t = parse_tag("<img width=\"128\" align=right src='x.png'/>").unwrap();
        assert_eq!(t.name, "img");
        assert_eq!(t.attr("width"), Some("128"));
        assert_eq!(t.attr("align"), Some("right"));
        assert_eq!(t.attr("src"), Some("x.png"));
        let t = parse_tag("</SPAN>").unwrap();
        assert!(t.closing && t.name == "span");
        assert_eq!(parse_tag("<details open class=\"x\">").unwrap().attr("open"), Some(""));
        assert!(parse_tag("<T, E>").is_none());
        assert!(parse_tag("<3").is_none());
        assert!(parse_tag("<a href=\"x\">text").is_none());
    }

    #[test]
    fn comments_and_the_summary_marker() {
        assert_eq!(strip_comments("a<!-- x -->b"), ("ab".to_string(), false));
        assert_eq!(strip_comments("<!--more-->"), (String::new(), true));
        assert_eq!(strip_comments("a<!-- open"), ("a".to_string(), false));
        assert!(is_more_marker("<!-- more -->"));
        assert!(!is_more_marker("<!-- more to come -->"));
    }

    #[test]
    fn depth_and_text() {
        assert_eq!(depth("<div><p>a<br>b<img src=x/></p><p>c</p></div>"), 2);
        assert_eq!(depth("</div></div><b>x</b>"), 1);
        assert_eq!(strip_tags("<div>a <b>b</b><!-- c --> 1 < 2</div>"), "a b 1 < 2");
    }

    #[test]
    fn dropped_elements_are_found() {
        let html = "<figure><iframe src=\"x\"></iframe></figure><!-- <video> --><b>ok</b><custom-el>";
        let names: Vec<String> = dropped_elements(html).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["figure", "iframe"]);
    }
}
