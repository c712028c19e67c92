//! What both bodies show, decided once: labels in the issue's language, the
//! header line, which links may be emitted, and text cleaning.

use crate::config::Config;
use crate::issue::{Article, Issue, Reference};

/// Only these schemes become links; anything else renders as its text only.
pub fn allowed_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let ok = lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:");
    // Browsers drop tabs and newlines inside URLs, so a scheme could hide behind one.
    (ok && !url.chars().any(|c| c.is_control() || c.is_whitespace())).then_some(url)
}

/// Issue text as one line: CR, LF, tabs and other control characters become spaces.
pub fn one_line(s: &str) -> String {
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

/// Fixed strings of the mail, in the issue's language.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    pub contents: &'static str,
    pub related: &'static str,
    pub more_links: &'static str,
    pub view_in_browser: &'static str,
    pub unsubscribe: &'static str,
    pub unsubscribe_by_mail: &'static str,
    pub reply_to_unsubscribe: &'static str,
    pub sent_to: &'static str,
    /// "You get this mail because you subscribed to" + the newsletter name.
    pub why_prefix: &'static str,
    pub why_suffix: &'static str,
}

pub fn labels(lang: &str) -> Labels {
    if lang.starts_with("ko") {
        Labels {
            contents: "목차",
            related: "관련 링크",
            more_links: "참고 링크",
            view_in_browser: "브라우저에서 보기",
            unsubscribe: "구독 취소",
            unsubscribe_by_mail: "메일로 구독 취소:",
            reply_to_unsubscribe: "구독을 취소하려면 이 메일에 답장해 주세요.",
            sent_to: "받는 사람:",
            why_prefix: "",
            why_suffix: " 뉴스레터를 구독하셔서 이 메일을 받으셨습니다.",
        }
    } else {
        Labels {
            contents: "Contents",
            related: "Related",
            more_links: "More links",
            view_in_browser: "View in browser",
            unsubscribe: "Unsubscribe",
            unsubscribe_by_mail: "Unsubscribe by email:",
            reply_to_unsubscribe: "Reply to this email to unsubscribe.",
            sent_to: "Sent to:",
            why_prefix: "You get this email because you subscribed to ",
            why_suffix: ".",
        }
    }
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
    pub labels: Labels,
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
        let lang = if issue.lang.trim().is_empty() {
            "en".to_string()
        } else {
            one_line(&issue.lang)
        };
        let issue_label = match issue.number {
            Some(k) => format!("Issue {k}"),
            None => one_line(&issue.front.title),
        };
        let archive_url = n
            .archive_url
            .as_ref()
            .map(|u| u.replace("{id}", &issue.id))
            .filter(|u| allowed_url(u).is_some());
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
            labels: labels(&lang),
            lang,
            newsletter: one_line(&n.name),
            title: one_line(&issue.front.title),
            series: one_line(&issue.series_name()),
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
pub fn article_url(article: &Article) -> Option<String> {
    article.url.as_deref().and_then(allowed_url).map(str::to_string)
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
    fn one_line_drops_cr_lf() {
        assert_eq!(one_line("a\r\nb\tc  d"), "a b c d");
    }
}
