//! The HTML body: the issue's parts rendered to sanitized markup, and the
//! askama template that lays them out (templates/email.html).

use super::html_blocks::HtmlWriter;
use super::personal::Slots;
use super::sanitize::Sanitizer;
use super::view::{article_url, one_line, IssueView, LinkView};
use crate::issue::{Block, Issue};
use askama::Template;

#[derive(Template)]
#[template(path = "email.html")]
pub struct EmailHtml<'a> {
    pub v: &'a IssueView,
    /// The subject, with personal fields as slot markers (title, aria-label).
    pub subject: String,
    pub preheader: String,
    /// The theme's header and footer snippets, sanitized markup.
    pub header: Option<String>,
    pub footer: Option<String>,
    /// The text before the first heading, sanitized markup (may be empty).
    pub lead: String,
    pub intro: Option<SectionHtml>,
    pub articles: Vec<ArticleHtml<'a>>,
    pub footnotes: Vec<FootnoteHtml>,
    /// Whether the table of contents is shown (theme `toc`, two articles or more).
    pub toc: bool,
    pub slots: &'a Slots,
}

pub struct SectionHtml {
    pub title: String,
    /// Sanitized markup: with the other bodies, the only values the template marks `|safe`.
    pub body: String,
}

pub struct ArticleHtml<'a> {
    pub anchor: String,
    pub title: String,
    pub url: Option<String>,
    /// Sanitized markup.
    pub body: String,
    pub related: &'a [LinkView],
}

pub struct FootnoteHtml {
    pub number: usize,
    /// Sanitized markup.
    pub body: String,
}

/// The parts of the body that do not come from the issue.
pub struct Extras<'a> {
    pub subject: String,
    pub header: Option<&'a [Block]>,
    pub footer: Option<&'a [Block]>,
    pub slots: &'a Slots,
}

impl<'a> EmailHtml<'a> {
    pub fn new(issue: &Issue, v: &'a IssueView, extras: Extras<'a>) -> Self {
        let sanitizer = Sanitizer::new(v.base.clone());
        let w = HtmlWriter {
            base: v.base.as_ref(),
            labels: &v.labels,
        };
        let html = |blocks: &[Block]| sanitizer.clean(&w.blocks(blocks));
        let articles = issue
            .articles
            .iter()
            .zip(&v.related)
            .enumerate()
            .map(|(i, (a, related))| ArticleHtml {
                anchor: format!("article-{}", i + 1),
                title: one_line(&a.title),
                url: article_url(a, v.base.as_ref()),
                body: html(&a.blocks),
                related,
            })
            .collect();
        let intro = issue.intro.as_ref().map(|s| SectionHtml {
            title: one_line(&s.title),
            body: html(&s.blocks),
        });
        let footnotes = issue
            .footnotes
            .iter()
            .map(|f| {
                let mut body = String::new();
                w.item(&mut body, &f.blocks);
                FootnoteHtml {
                    number: f.number,
                    body: sanitizer.clean(&body),
                }
            })
            .collect();
        EmailHtml {
            v,
            subject: extras.subject,
            preheader: preheader(issue),
            header: extras.header.map(html),
            footer: extras.footer.map(html),
            lead: html(&issue.lead),
            intro,
            articles,
            footnotes,
            toc: v.theme.toc && issue.articles.len() >= 2,
            slots: extras.slots,
        }
    }
}

/// The hidden preview line mail clients show next to the subject: the text
/// before `<!-- more -->`, else the description, else the article titles.
pub fn preheader(issue: &Issue) -> String {
    let line = match (&issue.summary, &issue.front.description) {
        (Some(s), _) => one_line(s),
        (None, Some(d)) if !d.trim().is_empty() => one_line(d),
        _ => {
            let titles: Vec<String> = issue.articles.iter().map(|a| one_line(&a.title)).collect();
            titles.join(" · ")
        }
    };
    if line.chars().count() > 150 {
        line.chars().take(149).collect::<String>() + "…"
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::super::html_blocks::escape_into;
    use super::*;
    use crate::i18n::{labels, Language};
    use crate::issue::{Inline, List};

    fn text(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    fn render(blocks: &[Block]) -> String {
        let l = labels(Language::En);
        let w = HtmlWriter { base: None, labels: &l };
        Sanitizer::new(None).clean(&w.blocks(blocks))
    }

    #[test]
    fn numbered_lists_keep_their_numbers() {
        let list = Block::List(List {
            start: Some(3),
            items: vec![
                vec![Block::Paragraph(vec![text("c")])],
                vec![Block::Paragraph(vec![text("d")])],
            ],
        });
        let html = render(&[list]);
        assert!(html.contains("<ol start=\"3\">"), "{html}");
        assert!(html.contains("<li value=\"4\">d</li>"), "{html}");
    }

    #[test]
    fn disallowed_schemes_render_text_only() {
        let link = |url: &str| Inline::Link {
            url: url.into(),
            content: vec![text("click")],
        };
        let html = render(&[Block::Paragraph(vec![
            link("javascript:alert(1)"),
            text(" "),
            link("mailto:a@b.c"),
        ])]);
        assert_eq!(html, "<p>click <a href=\"mailto:a@b.c\">click</a></p>\n");
    }

    #[test]
    fn text_that_looks_like_html_is_escaped() {
        let html = render(&[Block::Paragraph(vec![text(
            "<script>x</script><img src=x onerror=alert(1)> & Result<T, E>",
        )])]);
        assert_eq!(
            html,
            "<p>&lt;script&gt;x&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; Result&lt;T, E&gt;</p>\n"
        );
        let mut out = String::new();
        escape_into(&mut out, "\"'");
        assert_eq!(out, "&quot;&#39;");
    }

    #[test]
    fn raw_html_goes_through_the_sanitizer() {
        let html = render(&[
            Block::Paragraph(vec![
                text("a "),
                Inline::Html("<span class=\"gray\" onclick=\"x\">".into()),
                text("b"),
                Inline::Html("</span>".into()),
            ]),
            Block::Html(
                "<figure><iframe src=\"https://e.example\"></iframe><figcaption>cap</figcaption></figure>".into(),
            ),
        ]);
        assert_eq!(html, "<p>a <span>b</span></p>\ncap\n");
    }

    #[test]
    fn images_tables_footnotes_tasks() {
        use crate::issue::{Align, Table};
        let img = Inline::Image {
            url: "https://e.example/wide.png".into(),
            alt: "A chart".into(),
            title: None,
            width: Some(1072),
            height: Some(600),
        };
        let table = Block::Table(Table {
            aligns: vec![Align::None, Align::Right],
            head: vec![vec![text("crate")], vec![text("n")]],
            rows: vec![vec![vec![text("serde")], vec![text("1")]]],
        });
        let html = render(&[
            Block::Paragraph(vec![img, Inline::FootnoteRef(1), Inline::Task(true), text("done")]),
            table,
        ]);
        assert!(
            html.contains("<img src=\"https://e.example/wide.png\" alt=\"A chart\" width=\"536\" height=\"300\">"),
            "{html}"
        );
        assert!(
            html.contains("<sup class=\"fnref\"><a href=\"#fn-1\">1</a></sup>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"task\" role=\"img\" aria-label=\"done\">\u{2611}</span> done"),
            "{html}"
        );
        assert!(
            html.contains("<th scope=\"col\" align=\"left\">crate</th><th scope=\"col\" align=\"right\">n</th>"),
            "{html}"
        );
        assert!(html.contains("<div class=\"table-wrap\"><table"), "{html}");
    }
}
