//! Hand-built issues for the render tests (no parser needed).

use chrono::{DateTime, NaiveDate};
use newsletter::issue::{Article, Block, FrontMatter, Inline, Issue, List, Period, Reference, Section};

pub fn t(s: &str) -> Inline {
    Inline::Text(s.into())
}
pub fn code(s: &str) -> Inline {
    Inline::Code(s.into())
}
pub fn strong(s: &str) -> Inline {
    Inline::Strong(vec![t(s)])
}
pub fn link(url: &str, text: &str) -> Inline {
    Inline::Link {
        url: url.into(),
        content: vec![t(text)],
    }
}
pub fn p(inlines: Vec<Inline>) -> Block {
    Block::Paragraph(inlines)
}
/// A bullet list of tight items; each item is a paragraph plus optional children.
pub fn ul(items: Vec<(Vec<Inline>, Vec<Block>)>) -> Block {
    list(None, items)
}
pub fn ol(start: u64, items: Vec<(Vec<Inline>, Vec<Block>)>) -> Block {
    list(Some(start), items)
}
fn list(start: Option<u64>, items: Vec<(Vec<Inline>, Vec<Block>)>) -> Block {
    let items = items
        .into_iter()
        .map(|(inl, children)| std::iter::once(p(inl)).chain(children).collect())
        .collect();
    Block::List(List { start, items })
}
pub fn leaf(inlines: Vec<Inline>) -> (Vec<Inline>, Vec<Block>) {
    (inlines, vec![])
}

fn front(title: &str, date: &str, series: &[&str]) -> FrontMatter {
    FrontMatter {
        title: title.into(),
        date: DateTime::parse_from_rfc3339(date).unwrap(),
        date_has_time: true,
        authors: vec!["Ji-Hoon Kim".into()],
        tags: vec!["Article".into(), "Weekly".into()],
        categories: vec![],
        series: series.iter().map(|s| s.to_string()).collect(),
        draft: false,
        slug: None,
        description: None,
        number: None,
        extra: Default::default(),
    }
}

fn article(title: Vec<Inline>, url: &str, blocks: Vec<Block>) -> Article {
    Article {
        title: Inline::plain_text(&title),
        title_inlines: title,
        line: 1,
        blocks,
        url: Some(url.into()),
    }
}

fn reference(url: &str, related: &[&str]) -> Reference {
    Reference {
        url: url.into(),
        title: None,
        line: 1,
        related: related
            .iter()
            .map(|u| Reference {
                url: u.to_string(),
                title: None,
                line: 1,
                related: vec![],
            })
            .collect(),
    }
}

/// Shaped like the Article Weekly corpus: Korean prose in nested bullets,
/// an ordered list under a bullet, code spans, a bare URL, a fenced block.
#[allow(clippy::too_many_lines)] // one literal issue, kept whole so that it reads like the markdown it stands for
pub fn korean() -> Issue {
    let a1 = article(
        vec![t("HTTP/2 "), code("CONTINUATION"), t(" Flood: Technical Details")],
        "https://nowotarski.info/http2-continuation-flood-technical-details/",
        vec![ul(vec![
            (
                vec![
                    t("HTTP/2 프로토콜의 "),
                    code("CONTINUATION"),
                    t(" 프레임을 악용한 DoS 취약점에 대한 기술적인 분석 글로, 여러 서버 구현체가 영향을 받았다"),
                ],
                vec![ul(vec![
                    leaf(vec![
                        strong("예측:"),
                        t(" 헤더 크기 제한이 없는 구현은 메모리가 고갈될 때까지 프레임을 받아들인다"),
                    ]),
                    (
                        vec![t("대응 방법은 다음과 같음")],
                        vec![ol(
                            1,
                            vec![
                                leaf(vec![t("헤더 블록 전체 크기에 상한을 둔다")]),
                                leaf(vec![t("일정 시간 안에 END_HEADERS가 오지 않으면 연결을 끊는다")]),
                                (
                                    vec![t("패치된 버전으로 업그레이드: "), code("nghttp2 >= 1.61.0")],
                                    vec![ul(vec![leaf(vec![t(
                                        "그 중 하나가 https://github.com/nghttp2/nghttp2/releases/tag/v1.61.0 임",
                                    )])])],
                                ),
                            ],
                        )],
                    ),
                ])],
            ),
            leaf(vec![
                t("관련 글: "),
                link(
                    "https://blog.cloudflare.com/http2-rapid-reset/",
                    "https://blog.cloudflare.com/http2-rapid-reset/",
                ),
            ]),
        ])],
    );
    let a2 = article(
        vec![t("Result<T, E>의 문제와 💣 오류 처리")],
        "https://example.org/~user/result-errors?ref=stdy.blog#kotlin",
        vec![ul(vec![
            (
                vec![t("예시 코드:")],
                vec![Block::CodeBlock {
                    lang: Some("rust".into()),
                    code: "fn main() {\n    let r: Result<u8, String> = Ok(1);\n\n    println!(\"{r:?}\");\n}\n".into(),
                }],
            ),
            leaf(vec![
                t("`?` 연산자 대신 "),
                code("match"),
                t("를 쓰는 경우 10~100배 느리다는 주장은 근거가 부족함 (자세한 내용은 "),
                link(
                    "https://doc.rust-lang.org/book/ch09-02-recoverable-errors-with-result.html",
                    "Rust Book",
                ),
                t(" 참고)"),
            ]),
        ])],
    );
    Issue {
        id: "issue-099".into(),
        path: "issues/issue-099.md".into(),
        front: front(
            "Article Weekly, Issue 99",
            "2024-06-24T02:15:00+09:00",
            &["Article Weekly"],
        ),
        number: Some(99),
        period: Some(Period {
            start: NaiveDate::from_ymd_opt(2024, 6, 16).unwrap(),
            end: NaiveDate::from_ymd_opt(2024, 6, 22).unwrap(),
        }),
        lead: vec![],
        summary: None,
        intro: None,
        articles: vec![a1, a2],
        references: vec![
            reference(
                "https://nowotarski.info/http2-continuation-flood-technical-details/",
                &["https://news.hada.io/topic?id=13888"],
            ),
            reference("https://example.org/~user/result-errors?ref=stdy.blog#kotlin", &[]),
            reference("https://related.example.com/only-in-references", &[]),
        ],
        footnotes: vec![],
        lang: "ko".into(),
    }
}

/// An English issue with an intro section, a sub-heading, quotes and inline links.
pub fn english() -> Issue {
    let a1 = article(
        vec![t("Falsehoods programmers believe about time zones")],
        "https://www.zainrizvi.io/blog/falsehoods-programmers-believe-about-time-zones/",
        vec![
            p(vec![
                t("A list of assumptions that break in production, with "),
                Inline::Emphasis(vec![t("real")]),
                t(" examples & fixes."),
            ]),
            ol(
                1,
                vec![
                    leaf(vec![t("Every day has 24 hours.")]),
                    leaf(vec![
                        t("Offsets are whole hours (India is "),
                        code("+05:30"),
                        t(", Nepal "),
                        code("+05:45"),
                        t(")."),
                    ]),
                ],
            ),
            Block::Heading {
                level: 3,
                content: vec![t("What to do instead")],
            },
            ul(vec![leaf(vec![
                t("Store instants in UTC; keep the zone name (not the offset) for future local times. See the "),
                link("https://data.iana.org/time-zones/tz-link.html", "tz database notes"),
                t("."),
            ])]),
            Block::BlockQuote(vec![p(vec![
                t("Time is an illusion."),
                Inline::LineBreak,
                t("Lunchtime doubly so."),
            ])]),
        ],
    );
    let a2 = article(
        vec![t("Lessons From Stripe, Uber & Carta")],
        "https://review.firstround.com/lessons-from-stripe-uber-carta",
        vec![ul(vec![leaf(vec![
            Inline::Strikethrough(vec![t("Move fast")]),
            t(" Move carefully: write it down first ("),
            link("mailto:editor@example.com", "tell us"),
            t(" what you think)."),
        ])])],
    );
    Issue {
        id: "2026-w47".into(),
        path: "issues/2026-w47.md".into(),
        front: front("Field Notes Weekly, Issue 47", "2026-11-21T09:00:00+00:00", &[]),
        number: Some(47),
        period: Some(Period {
            start: NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        }),
        lead: vec![],
        summary: None,
        intro: Some(Section {
            title: "This week".into(),
            line: 1,
            blocks: vec![p(vec![t("Two long reads this week, both about assumptions.")])],
        }),
        articles: vec![a1, a2],
        references: vec![
            reference(
                "https://www.zainrizvi.io/blog/falsehoods-programmers-believe-about-time-zones/",
                &[],
            ),
            reference("https://review.firstround.com/lessons-from-stripe-uber-carta", &[]),
        ],
        footnotes: vec![],
        lang: "en".into(),
    }
}
