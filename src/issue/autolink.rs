//! Bare `http(s)://` URLs in text become links, like GitHub's extended
//! autolinks, tuned for Korean prose: non-ASCII text trailing a URL is not
//! part of it, so `레포지토리(https://github.com/meta-llama/llama3)가` links
//! exactly `https://github.com/meta-llama/llama3`.

use super::model::Inline;

/// One bare URL found in a text: its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
}

/// Byte ranges of the bare URLs in `text`, in order.
pub fn find_urls(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(rel) = next_scheme(&text[from..]) {
        let start = from + rel;
        let preceded_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '/' && c != '.' && c != '-');
        let end = start + url_len(&text[start..]);
        let scheme_len = if text[start..].starts_with("https://") { 8 } else { 7 };
        let host_ok = text[start + scheme_len..end].starts_with(|c: char| c.is_ascii_alphanumeric());
        if preceded_ok && host_ok {
            found.push(Found { start, end });
            from = end;
        } else {
            from = start + scheme_len;
        }
    }
    found
}

/// The next `http://` or `https://`. One forward search: looking for each
/// scheme separately rescans the rest of the text for the one that is absent,
/// which is quadratic in a paragraph of many URLs.
fn next_scheme(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = text[from..].find("http") {
        let at = from + rel;
        let rest = &text[at + 4..];
        if rest.starts_with("://") || rest.starts_with("s://") {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Length of the URL starting at `text[0]`: up to whitespace or `<`, minus
/// what trails it: non-ASCII characters (Hangul particles: `…/llama3)가`),
/// trailing punctuation and unbalanced `)`. Non-ASCII inside a path
/// (`/daangn/아키텍처에-대한-b75dffd73eb0`) is kept.
fn url_len(text: &str) -> usize {
    let mut end = text
        .find(|c: char| c.is_whitespace() || c == '<' || c.is_control())
        .unwrap_or(text.len());
    loop {
        let url = &text[..end];
        let Some(last) = url.chars().next_back() else {
            break;
        };
        if !last.is_ascii() || matches!(last, '?' | '!' | '.' | ',' | ':' | '*' | '_' | '~' | '\'' | '"') {
            end -= last.len_utf8();
        } else if last == ')' && url.matches(')').count() > url.matches('(').count() {
            end -= 1;
        } else if last == ';' {
            // `&amp;` at the end is an entity, not part of the URL (GFM rule).
            let amp = url
                .rfind('&')
                .filter(|&i| url[i + 1..end - 1].chars().all(|c| c.is_ascii_alphanumeric()));
            end = amp.unwrap_or(end - 1);
        } else {
            break;
        }
    }
    end
}

/// Splits every text inline that contains a bare URL into text and links.
/// Links and code are left alone; nested inlines are processed recursively.
pub fn linkify(inlines: Vec<Inline>) -> Vec<Inline> {
    let mut out = Vec::with_capacity(inlines.len());
    for inline in inlines {
        match inline {
            Inline::Text(text) => split_text(&text, &mut out),
            Inline::Emphasis(c) => out.push(Inline::Emphasis(linkify(c))),
            Inline::Strong(c) => out.push(Inline::Strong(linkify(c))),
            Inline::Strikethrough(c) => out.push(Inline::Strikethrough(linkify(c))),
            other => out.push(other),
        }
    }
    out
}

fn split_text(text: &str, out: &mut Vec<Inline>) {
    let mut last = 0;
    for Found { start, end } in find_urls(text) {
        if start > last {
            out.push(Inline::Text(text[last..start].to_string()));
        }
        let url = text[start..end].to_string();
        out.push(Inline::Link {
            content: vec![Inline::Text(url.clone())],
            url,
        });
        last = end;
    }
    if last < text.len() {
        out.push(Inline::Text(text[last..].to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|f| &text[f.start..f.end]).collect()
    }

    #[test]
    fn url_followed_by_hangul_or_in_parentheses() {
        assert_eq!(
            urls("레포지토리(https://github.com/meta-llama/llama3)가"),
            ["https://github.com/meta-llama/llama3"]
        );
        assert_eq!(
            urls("그 중 하나가 https://github.com/valkey-io/valkey 임"),
            ["https://github.com/valkey-io/valkey"]
        );
        assert_eq!(urls("하나가 https://example.com/a임"), ["https://example.com/a"]);
        assert_eq!(
            urls("(2024-04-18, https://ai.meta.com/blog/meta-llama-3/)"),
            ["https://ai.meta.com/blog/meta-llama-3/"]
        );
    }

    #[test]
    fn balanced_parentheses_and_trailing_punctuation() {
        assert_eq!(
            urls("see https://en.wikipedia.org/wiki/Rust_(language)."),
            ["https://en.wikipedia.org/wiki/Rust_(language)"]
        );
        assert_eq!(
            urls("https://a.example/x?y=1&z=2, then"),
            ["https://a.example/x?y=1&z=2"]
        );
        assert_eq!(
            urls("https://a.example/~user/@me#frag"),
            ["https://a.example/~user/@me#frag"]
        );
        assert_eq!(urls("http://lobste.rs/"), ["http://lobste.rs/"]);
        assert_eq!(
            urls("- https://medium.com/daangn/아키텍처에-대한-b75dffd73eb0"),
            ["https://medium.com/daangn/아키텍처에-대한-b75dffd73eb0"]
        );
    }

    #[test]
    fn not_urls() {
        assert!(urls("https:// nothing").is_empty());
        assert!(urls("xhttps://example.com").is_empty());
        assert!(urls("plain text").is_empty());
    }

    #[test]
    fn linkify_splits_text() {
        let got = linkify(vec![Inline::Text("a https://x.example b".into())]);
        assert_eq!(
            got,
            vec![
                Inline::Text("a ".into()),
                Inline::Link {
                    url: "https://x.example".into(),
                    content: vec![Inline::Text("https://x.example".into())]
                },
                Inline::Text(" b".into()),
            ]
        );
    }
}
