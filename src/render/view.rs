//! What both bodies show, decided once: labels in the newsletter's (or the
//! issue's) language, the theme, the header line, which links may be
//! emitted (relative ones resolved against the issue's web address), and
//! text cleaning.

use crate::config::theme::Theme;
use crate::config::Config;
use crate::i18n::{self, Labels, Language};
use crate::issue::{Article, Issue, Reference};
use ammonia::Url;

/// Only these schemes become links; anything else renders as its text only.
pub fn allowed_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let ok = lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:");
    // Browsers drop tabs and newlines inside URLs, so a scheme could hide behind one.
    (ok && !url.chars().any(|c| c.is_control() || c.is_whitespace())).then_some(url)
}

/// A link or image URL as mail can carry it: http(s)/mailto as written, a
/// relative one resolved against `base` (the issue's web address), else None.
pub fn resolve_url(base: Option<&Url>, url: &str) -> Option<String> {
    if let Some(u) = allowed_url(url) {
        return Some(u.to_string());
    }
    let trimmed = url.trim();
    let has_scheme = trimmed
        .split_once(':')
        .is_some_and(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
    if has_scheme || trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let joined = base?.join(trimmed).ok()?.to_string();
    allowed_url(&joined).map(str::to_string)
}

/// Issue text as one line: CR, LF, tabs and other control characters become spaces.
pub fn one_line(s: &str) -> String {
    one_line_cow(s).into_owned()
}

/// [`one_line`], borrowing text that is one line already (a recipient's
/// name and address, per message).
pub fn one_line_cow(s: &str) -> std::borrow::Cow<'_, str> {
    let plain = !s.chars().any(char::is_control) && !s.contains("  ") && s.trim().len() == s.len();
    if plain {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(collapse(s))
}

fn collapse(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out.trim().to_string()
}

/// Issue text that may keep line breaks (code blocks): other controls become spaces.
pub fn keep_lines(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The issue's web address (`archive_url` with `{id}` filled in), against
/// which relative links and images resolve.
pub fn issue_base(issue: &Issue, cfg: &Config) -> Option<Url> {
    let url = cfg.newsletter.archive_url.as_ref()?.replace("{id}", &issue.id);
    allowed_url(&url).and_then(|u| Url::parse(u).ok())
}

/// A link that passed [`allowed_url`], with its text.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub url: String,
    pub text: String,
}

/// Facts about the issue shared by the HTML and text bodies.
#[derive(Debug, Clone)]
pub struct IssueView {
    pub lang: String,
    /// Text direction: both built-in languages are left to right.
    pub dir: &'static str,
    pub labels: Labels,
    pub theme: Theme,
    /// The issue's web address (`archive_url` with its id), the base of relative URLs.
    pub base: Option<Url>,
    pub newsletter: String,
    pub title: String,
    pub series: String,
    /// `Issue 25`, or the title when there is no number.
    pub issue_label: String,
    pub period: Option<String>,
    pub archive_url: Option<String>,
    pub postal_address: String,
    pub unsubscribe_mailto: Option<String>,
    /// Per article (same order): its related links from the References section.
    pub related: Vec<Vec<LinkView>>,
    /// References that no article is paired with.
    pub more_links: Vec<(LinkView, Vec<LinkView>)>,
}

impl IssueView {
    pub fn new(issue: &Issue, cfg: &Config) -> Self {
        let n = &cfg.newsletter;
        let language = cfg
            .mail_language()
            .or_else(|| Language::parse(&issue.lang))
            .unwrap_or(Language::En);
        let lang = match cfg.mail_language() {
            Some(l) => l.code().to_string(),
            None if !issue.lang.trim().is_empty() => one_line(&issue.lang),
            None => "en".to_string(),
        };
        let mut labels = i18n::labels(language);
        for (key, value) in &cfg.theme.labels {
            labels.set(key, value);
        }
        // "Article Weekly" over "Issue 25" when the title is only the series
        // and its number; else the series (and number) over the title.
        let (series, issue_label) = match (issue.title_prefix(), issue.number) {
            (Some(_), Some(k)) => (one_line(&issue.series_name()), format!("Issue {k}")),
            (_, number) => {
                let name = issue
                    .front
                    .series
                    .first()
                    .or(issue.front.categories.first())
                    .unwrap_or(&n.name);
                let series = match number {
                    Some(k) => format!("{} · Issue {k}", one_line(name)),
                    None => one_line(name),
                };
                (series, one_line(&issue.front.title))
            }
        };
        let archive_url = n
            .archive_url
            .as_ref()
            .map(|u| u.replace("{id}", &issue.id))
            .filter(|u| allowed_url(u).is_some());
        let base = issue_base(issue, cfg);
        // Look-ups by URL, not scans: thousands of articles must stay linear.
        let mut by_url: std::collections::HashMap<&str, &Reference> = std::collections::HashMap::new();
        for r in &issue.references {
            by_url.entry(r.url.as_str()).or_insert(r);
        }
        let related = issue.articles.iter().map(|a| related_of(a, &by_url)).collect();
        let article_urls: std::collections::HashSet<&str> =
            issue.articles.iter().filter_map(|a| a.url.as_deref()).collect();
        let paired = |r: &Reference| article_urls.contains(r.url.as_str());
        let more_links = issue
            .references
            .iter()
            .filter(|r| !paired(r))
            .filter_map(|r| Some((link_of(r)?, r.related.iter().filter_map(link_of).collect())))
            .collect();
        IssueView {
            labels,
            lang,
            dir: "ltr",
            theme: cfg.theme.clone(),
            base,
            newsletter: one_line(&n.name),
            title: one_line(&issue.front.title),
            series,
            issue_label,
            period: issue.period.map(|p| format!("{} ~ {}", p.start, p.end)),
            archive_url,
            postal_address: one_line(&n.postal_address),
            unsubscribe_mailto: n.unsubscribe_mailto.as_ref().map(|a| a.to_string()),
            related,
            more_links,
        }
    }
}

fn link_of(r: &Reference) -> Option<LinkView> {
    let url = allowed_url(&r.url)?.to_string();
    let text = r
        .title
        .as_deref()
        .map(one_line)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| url.clone());
    Some(LinkView { url, text })
}

fn related_of(article: &Article, by_url: &std::collections::HashMap<&str, &Reference>) -> Vec<LinkView> {
    article
        .url
        .as_deref()
        .and_then(|u| by_url.get(u))
        .map(|r| r.related.iter().filter_map(link_of).collect())
        .unwrap_or_default()
}

/// An article's reference URL, when it may be emitted.
pub fn article_url(article: &Article, base: Option<&Url>) -> Option<String> {
    article.url.as_deref().and_then(|u| resolve_url(base, u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_https_mailto() {
        assert!(allowed_url("https://example.com/").is_some());
        assert!(allowed_url("HTTP://example.com/").is_some());
        assert!(allowed_url("mailto:a@example.com").is_some());
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:x",
            "data:text/html,x",
            "vbscript:x",
            "/relative",
            "#frag",
            "java\nscript:x",
            "https://a.com/\u{0}x",
            "",
        ] {
            assert!(allowed_url(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn relative_urls_need_a_base() {
        let base = Url::parse("https://example.com/weekly/52/").unwrap();
        assert_eq!(
            resolve_url(Some(&base), "pic.png").as_deref(),
            Some("https://example.com/weekly/52/pic.png")
        );
        assert_eq!(
            resolve_url(Some(&base), "/assets/a.png").as_deref(),
            Some("https://example.com/assets/a.png")
        );
        assert_eq!(resolve_url(None, "pic.png"), None);
        assert_eq!(resolve_url(Some(&base), "javascript:alert(1)"), None);
        assert_eq!(resolve_url(Some(&base), "#top"), None);
        assert_eq!(
            resolve_url(None, "https://e.example/x").as_deref(),
            Some("https://e.example/x")
        );
    }

    #[test]
    fn one_line_drops_cr_lf() {
        assert_eq!(one_line("a\r\nb\tc  d"), "a b c d");
    }

    proptest::proptest! {
        #[test]
        fn borrowed_one_line_is_the_collapsed_text(s in "[ a\\t\\r\\n\\u{b}\\u{85}\\u{a0}\\u{2028}가]{0,12}") {
            proptest::prop_assert_eq!(one_line_cow(&s), collapse(&s));
        }
    }

    #[test]
    fn text_on_one_line_is_borrowed() {
        assert!(matches!(
            one_line_cow("김민지 <a@example.com>"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(one_line_cow(" a  b\u{a0}"), "a b");
    }
}
