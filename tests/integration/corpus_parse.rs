//! The parser against the real corpus: every Article Weekly issue parses,
//! with the article counts, titles, periods and reference pairing read off
//! the files by hand; the other newsletters parse or fail cleanly.

use crate::harness;
use newsletter::issue::{self, Issue, Parsed};
use std::path::Path;

/// (issue, period start, period end, articles, top-level references), from
/// `grep -A2 '^## Period'`, the `##` headings and the `- ` lines under
/// `## References` of each file.
const ALL: [(u32, &str, &str, usize, usize); 52] = [
    (1, "2024-01-01", "2024-01-06", 1, 1),
    (2, "2024-01-07", "2024-01-13", 3, 3),
    (3, "2024-01-14", "2024-01-20", 2, 2),
    (4, "2024-01-21", "2024-01-27", 9, 9),
    (5, "2024-01-28", "2024-02-03", 1, 1),
    (6, "2024-02-04", "2024-02-10", 1, 1),
    (7, "2024-02-11", "2024-02-17", 1, 2),
    (8, "2024-02-18", "2024-02-24", 2, 2),
    (9, "2024-02-25", "2024-03-02", 2, 2),
    (10, "2024-03-03", "2024-03-09", 3, 3),
    (11, "2024-03-10", "2024-03-16", 2, 2),
    (12, "2024-03-17", "2024-03-23", 3, 3),
    (13, "2024-03-24", "2024-03-30", 1, 1),
    (14, "2024-03-31", "2024-04-06", 4, 4),
    (15, "2024-04-07", "2024-04-13", 2, 2),
    (16, "2024-04-14", "2024-04-20", 1, 1),
    (17, "2024-04-21", "2024-04-27", 4, 4),
    (18, "2024-04-28", "2024-05-04", 2, 2),
    (19, "2024-05-05", "2024-05-11", 1, 1),
    (20, "2024-05-12", "2024-05-18", 7, 7),
    (21, "2024-05-19", "2024-05-25", 2, 2),
    (22, "2024-05-26", "2024-06-01", 5, 5),
    (23, "2024-06-02", "2024-06-08", 4, 4),
    (24, "2024-06-09", "2024-06-15", 9, 9),
    (25, "2024-06-16", "2024-06-22", 8, 8),
    (26, "2024-06-23", "2024-06-29", 6, 6),
    (27, "2024-06-30", "2024-07-06", 12, 12),
    (28, "2024-07-07", "2024-07-13", 6, 6),
    (29, "2024-07-14", "2024-07-20", 4, 4),
    (30, "2024-07-21", "2024-07-27", 10, 10),
    (31, "2024-07-28", "2024-08-03", 3, 3),
    (32, "2024-08-04", "2024-08-10", 3, 3),
    (33, "2024-08-11", "2024-08-17", 4, 4),
    (34, "2024-08-18", "2024-08-24", 4, 4),
    (35, "2024-08-25", "2024-08-31", 5, 5),
    (36, "2024-09-01", "2024-09-07", 6, 6),
    (37, "2024-09-08", "2024-09-14", 9, 9),
    (38, "2024-09-15", "2024-09-21", 8, 8),
    (39, "2024-09-22", "2024-09-28", 6, 6),
    (40, "2024-09-29", "2024-10-05", 8, 8),
    (41, "2024-10-06", "2024-10-12", 7, 7),
    (42, "2024-10-13", "2024-10-19", 4, 4),
    (43, "2024-10-20", "2024-10-26", 5, 5),
    (44, "2024-10-27", "2024-11-02", 6, 6),
    (45, "2024-11-03", "2024-11-09", 9, 9),
    (46, "2024-11-10", "2024-11-16", 7, 7),
    (47, "2024-11-17", "2024-11-23", 6, 6),
    (48, "2024-11-24", "2024-11-30", 10, 10),
    (49, "2024-12-01", "2024-12-07", 7, 7),
    (50, "2024-12-08", "2024-12-14", 7, 7),
    (51, "2024-12-15", "2024-12-21", 7, 7),
    (52, "2024-12-22", "2024-12-28", 1, 1),
];

/// Titles (bold, code spans and escapes rendered as plain text) and URLs of
/// sample issues. Overview issues (1, 2, 3, 5) take both from the link bullets.
const SAMPLES: &[(u32, &[(&str, &str)])] = &[
    (1, &[("Push Notifications - What to Push, What Not to Push, and How Often", "https://eugeneyan.com/writing/push/")]),
    (2, &[
        ("WebRTC For The Curious", "https://webrtcforthecurious.com/"),
        ("SSH-Snake: Automatic traversal of networks using SSH private keys", "https://joshua.hu/ssh-snake-ssh-network-traversal-discover-ssh-private-keys-network-graph"),
        ("The Illustrated TLS 1.2 Connection", "https://tls12.xargs.org/"),
    ]),
    (3, &[
        ("Understanding x86_64 Paging", "https://zolutal.github.io/understanding-paging/"),
        ("RSA is deceptively simple (and fun)", "https://ntietz.com/blog/rsa-deceptively-simple/"),
    ]),
    (5, &[("The Big Little Guide to Message Queues", "https://sudhir.io/the-big-little-guide-to-message-queues")]),
    (14, &[
        ("Modern Git Commands and Features You Should Be Using", "https://martinheinz.dev/blog/109"),
        ("LLaMA Now Goes Faster on CPUs", "https://justine.lol/matmul/"),
        ("Timeline of the xz open source attack", "https://research.swtch.com/xz-timeline"),
        ("HTTP/2 CONTINUATION Flood: Technical Details", "https://nowotarski.info/http2-continuation-flood-technical-details/"),
    ]),
    (18, &[
        ("4 Software Design Principles I Learned the Hard Way", "https://read.engineerscodex.com/p/4-software-design-principles-i-learned"),
        ("What if null was an Object in Java?", "https://donraab.medium.com/what-if-null-was-an-object-in-java-3f1974954be2"),
    ]),
    (26, &[
        ("A Three-Step Framework For Solving Problems 👌", "https://www.lennysnewsletter.com/p/a-three-step-framework-for-solving"),
        ("1-click Exploit in South Korea's biggest mobile chat app", "https://stulle123.github.io/posts/kakaotalk-account-takeover/"),
        ("assert vs Validate.isTrue", "https://stackoverflow.com/a/5452329"),
        ("Never* use Datagrams", "https://quic.video/blog/never-use-datagrams/"),
        ("Zig vs Rust at work: the choice we made", "https://ludwigabap.bearblog.dev/zig-vs-rust-at-work-the-choice-we-made/"),
        ("Automated Unit Test Improvement using Large Language Models at Meta", "https://arxiv.org/abs/2402.09171"),
    ]),
    (30, &[
        ("Open Source AI Is the Path Forward", "https://about.fb.com/news/2024/07/open-source-ai-is-the-path-forward/"),
        ("Einstein’s 7 rules for a better life", "https://bigthink.com/starts-with-a-bang/einstein-rules-better-life/"),
        ("COPYING is the way design works", "https://matthewstrom.com/writing/copying/"),
        ("Introducing Llama 3.1: Our most capable models to date", "https://ai.meta.com/blog/meta-llama-3-1/"),
        ("[Project Loom] Virtual Thread에 봄(Spring)은 왔는가", "https://tech.kakaopay.com/post/ro-spring-virtual-thread/"),
        ("I've used (and loved) Rust for ~10 years. Here are the ways it disappoints me.", "https://www.reddit.com/r/rust/comments/1e978l7/ive_used_and_loved_rust_for_10_years_here_are_the/"),
        ("Mistral Large 2", "https://mistral.ai/news/mistral-large-2407/"),
        ("어떻게 그 판단을 할 수 있었을까?", "https://www.stdy.blog/debugging-and-critical-decision-method/"),
        ("Database Design for Google Calendar: a tutorial", "https://kb.databasedesignbook.com/posts/google-calendar/"),
        ("아키텍처에 대한 고민은 처음이라: 계층형과 육각형 아키텍처 적용 사례", "https://medium.com/daangn/아키텍처에-대한-고민은-처음이라-b75dffd73eb0"),
    ]),
    (38, &[
        ("How To Solve OutOfMemoryError: Metaspace", "https://dzone.com/articles/how-to-solve-outofmemoryerror-metaspace"),
        ("A curried composition puzzle", "https://franklin.dyer.me/post/212"),
        ("Hybrid search with PostgreSQL and pgvector", "https://jkatz05.com/post/postgres/hybrid-search-postgres-pgvector/"),
        ("Why wordfreq will not be updated", "https://github.com/rspeer/wordfreq/blob/master/SUNSET.md"),
        ("The HTTP QUERY Method", "https://www.ietf.org/archive/id/draft-ietf-httpbis-safe-method-w-body-05.html"),
        ("Why Scrum is Stressing You Out", "https://rethinkingsoftware.substack.com/p/why-scrum-is-stressing-you-out"),
        ("Java 21 Virtual Threads - Dude, Where’s My Lock?", "https://netflixtechblog.com/java-21-virtual-threads-dude-wheres-my-lock-3052540e231d"),
        ("Digital signatures and how to avoid them", "https://neilmadden.blog/2024/09/18/digital-signatures-and-how-to-avoid-them/"),
    ]),
    (44, &[
        ("Stop using if-else statements in Java", "https://medium.com/javarevisited/stop-using-if-else-statements-in-java-57234e13bf9d"),
        ("Mercurial vs Git – Let’s Examine", "https://www.incredibuild.com/blog/mercurial-vs-git-lets-examine"),
        ("Write code that is easy to delete, not easy to extend.", "https://programmingisterrible.com/post/139222674273/write-code-that-is-easy-to-delete-not-easy-to"),
        ("Macro trends in the tech industry | October 2024", "https://www.thoughtworks.com/insights/blog/technology-strategy/macro-trends-tech-industry-october-2024"),
        ("Vector Databases Are the Wrong Abstraction", "https://www.timescale.com/blog/vector-databases-are-the-wrong-abstraction/"),
        ("Iterator Design Pattern Java", "https://medium.com/javarevisited/iterator-design-pattern-java-f0d5a33e3262"),
    ]),
    (45, &[
        ("We’re leaving Kubernetes", "https://www.gitpod.io/blog/we-are-leaving-kubernetes"),
        ("Tests as docs? 🤔", "https://www.elixirstreams.com/tips/tests-as-docs"),
        ("1 Year of Consistent LeetCoding", "https://dev.to/davinderpalrehal/1-year-of-consistent-leetcoding-26d0"),
        ("Lessons learned from a successful Rust rewrite", "https://gaultier.github.io/blog/lessons_learned_from_a_successful_rust_rewrite.html"),
        ("Good software development habits", "https://zarar.dev/good-software-development-habits/"),
        ("API Design in the Post-OpenAPI Era", "https://nordicapis.com/api-design-in-the-post-openapi-era/"),
        ("Kafka for Java Developers", "https://medium.com/@alxkm/kafka-for-java-developers-bdeea0f7e3df"),
        ("I'm Not Mutable, I'm Partially Instantiated", "https://blog.dnmfarrell.com/post/incomplete-data-structures/"),
        ("T 50 avionics embedded software development using java", "https://www.slideshare.net/slideshow/t-50-avionics-embedded-software-development-using-java/10793710"),
    ]),
    (48, &[
        ("Design a Live Streaming System", "https://blog.bytebytego.com/p/ep139-design-a-live-streaming-system"),
        ("The sorry state of Java deserialization", "https://www.marginalia.nu/log/a_110_java_io/"),
        ("Functional Programming with Bananas, Lenses, Envelopes and Barbed Wire", "https://research.utwente.nl/en/publications/functional-programming-with-bananas-lenses-envelopes-and-barbed-w"),
        ("Can Node.js Really Handle Millions of Users?", "https://javascript.plainenglish.io/can-node-js-really-handle-millions-of-users-e57415e4fb86"),
        ("Glassdb: transactional object storage", "https://blog.mbrt.dev/posts/transactional-object-storage/"),
        ("LLM Prompt Tuning Playbook", "https://github.com/varungodbole/prompt-tuning-playbook"),
        ("Dear friend, you have built a Kubernetes", "https://www.macchaffee.com/blog/2024/you-have-built-a-kubernetes/"),
        ("Teen Mathematicians Tie Knots Through a Mind-Blowing Fractal", "https://www.quantamagazine.org/teen-mathematicians-tie-knots-through-a-mind-blowing-fractal-20241126/"),
        ("I Didn't Need Kubernetes, and You Probably Don't Either", "https://benhouston3d.com/blog/why-i-left-kubernetes-for-google-cloud-run"),
        ("Effective Java Logging", "https://foojay.io/today/effective-java-logging/"),
    ]),
    (49, &[
        ("CompletableFuture Example: Crawler", "https://concurrencydeepdives.com/java-completablefuture-example/"),
        ("Database Indexing Explained", "https://computersciencesimplified.substack.com/p/database-indexing-explained"),
        ("How can I grow as an engineer without good seniors to learn from?", "https://news.ycombinator.com/item?id=42289955"),
        ("Z Garbage Collector in Java", "https://www.unlogged.io/post/z-garbage-collector-in-java"),
        ("Stop using JPA/Hibernate", "https://www.stemlaur.com/blog/2021/03/30/tech-hibern-hate/"),
        ("7 Databases in 7 Weeks for 2025", "https://matt.blwt.io/post/7-databases-in-7-weeks-for-2025/"),
        ("Lossless Log Aggregation", "https://bit.kevinslin.com/p/lossless-log-aggregation"),
    ]),
];

fn parse_issue(corpus: &Path, n: u32) -> Parsed {
    let path = &harness::article_weekly(corpus)[n as usize - 1];
    issue::from_file(path).unwrap_or_else(|d| panic!("issue {n}: {d:?}"))
}

fn titles_and_urls(issue: &Issue) -> Vec<(String, Option<String>)> {
    issue
        .articles
        .iter()
        .map(|a| (a.title.clone(), a.url.clone()))
        .collect()
}

#[test]
fn every_issue_has_its_period_articles_and_references() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    for (n, start, end, articles, references) in ALL {
        let Parsed { issue, warnings } = parse_issue(&corpus, n);
        let period = issue.period.unwrap_or_else(|| panic!("issue {n}: no period"));
        assert_eq!(
            (period.start.to_string().as_str(), period.end.to_string().as_str()),
            (start, end),
            "issue {n}"
        );
        assert_eq!(issue.articles.len(), articles, "issue {n}: articles");
        assert_eq!(issue.references.len(), references, "issue {n}: references");
        assert_eq!(issue.number, Some(n), "issue {n}: number from the title");
        assert_eq!(issue.front.title, format!("Article Weekly, Issue {n}"));
        assert_eq!(issue.front.authors, ["Ji-Hoon Kim"]);
        assert_eq!(issue.front.series, ["Article Weekly"]);
        assert_eq!(issue.front.date.offset().local_minus_utc(), 9 * 3600, "issue {n}");
        assert_eq!(issue.id, format!("issue-{n:03}"));
        assert_eq!(issue.lang, "ko", "issue {n}");
        if articles == references && ![1, 2, 3, 5].contains(&n) {
            for (a, r) in issue.articles.iter().zip(&issue.references) {
                assert_eq!(a.url.as_deref(), Some(r.url.as_str()), "issue {n}: {}", a.title);
            }
        }
        for a in &issue.articles {
            assert!(!a.blocks.is_empty(), "issue {n}: article {} is empty", a.title);
        }
        // Only issue 7 (unpaired) and the two http:// links warn.
        let expected_warnings = match n {
            7 | 37 | 48 => 1,
            _ => 0,
        };
        assert_eq!(warnings.len(), expected_warnings, "issue {n}: {warnings:#?}");
    }
}

#[test]
fn sample_issues_have_their_titles_and_urls() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    for &(n, expected) in SAMPLES {
        let issue = parse_issue(&corpus, n).issue;
        let want: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(t, u)| (t.to_string(), Some(u.to_string())))
            .collect();
        assert_eq!(titles_and_urls(&issue), want, "issue {n}");
    }
}

#[test]
fn overview_issues_keep_reference_titles() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    let refs = parse_issue(&corpus, 2).issue.references;
    assert_eq!(refs[0].title.as_deref(), Some("Introduction"));
    assert_eq!(refs[0].url, "https://webrtcforthecurious.com/");
    let refs = parse_issue(&corpus, 3).issue.references;
    assert_eq!(
        refs[1].title.as_deref(),
        Some("RSA is deceptively simple (and fun) | nicole@web")
    );
    let refs = parse_issue(&corpus, 5).issue.references;
    assert_eq!(refs[0].title, None, "a bare URL has no title");
    assert_eq!(refs[0].line, 29);
}

#[test]
fn issue_7_warns_instead_of_pairing() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    let Parsed { issue, warnings } = parse_issue(&corpus, 7);
    assert_eq!(
        titles_and_urls(&issue),
        [("Falsehoods programmers believe about time zones".to_string(), None)]
    );
    let path = corpus.join("article-weekly/issue-007.md");
    assert_eq!(
        warnings[0].to_string(),
        format!(
            "{}:25:1: warning: 1 article but 2 references: articles are not paired with references\n  \
             hint: list one top-level reference per article, in article order; nest related links under it",
            path.display()
        )
    );
}

#[test]
fn nested_references_are_related_links() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    let refs = parse_issue(&corpus, 18).issue.references;
    assert_eq!(refs[0].related.len(), 1);
    assert_eq!(
        refs[0].related[0].url,
        "https://testing.googleblog.com/2013/05/testing-on-toilet-dont-overuse-mocks.html"
    );
    assert!(refs[1].related.is_empty());
    let refs = parse_issue(&corpus, 30).issue.references;
    assert_eq!(refs[7].related[0].url, "https://www.gary-klein.com/cdm?ref=stdy.blog");
    let nested: usize = [12, 18, 20, 27, 30, 37, 40, 43]
        .iter()
        .map(|&n| {
            parse_issue(&corpus, n)
                .issue
                .references
                .iter()
                .map(|r| r.related.len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(nested, 8, "one nested reference in each of 8 issues");
}

#[test]
fn issue_4_keeps_its_intro() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    let issue = parse_issue(&corpus, 4).issue;
    let intro = issue.intro.expect("## 개요 is an intro in issue 4");
    assert_eq!(intro.title, "개요");
    assert_eq!(intro.line, 14);
}

#[test]
fn other_newsletters_parse_or_fail_cleanly() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    let files = harness::other_posts(&corpus);
    assert!(files.len() >= 15, "found {} files", files.len());
    for f in files {
        if let Err(diags) = issue::from_file(&f) {
            assert!(!diags.is_empty());
            for d in diags {
                assert!(
                    d.is_error() && d.line >= 1 && !d.message.is_empty(),
                    "{}: {d}",
                    f.display()
                );
            }
        }
    }
}

#[test]
fn bare_urls_in_issue_17_are_linked_exactly() {
    let Some(corpus) = harness::corpus() else {
        return;
    };
    let issue = parse_issue(&corpus, 17).issue;
    let mut urls = Vec::new();
    for a in &issue.articles {
        collect(&a.blocks, &mut urls);
    }
    for want in [
        "https://github.com/valkey-io/valkey",
        "https://ai.meta.com/blog/meta-llama-3/",
        "https://github.com/meta-llama/llama3",
        "https://increase.com/documentation/api#api-reference",
    ] {
        assert!(urls.iter().any(|u| u == want), "{want} not in {urls:#?}");
    }
    assert!(urls.iter().all(|u| u.is_ascii() && !u.ends_with(')')), "{urls:#?}");
}

fn collect(blocks: &[issue::Block], out: &mut Vec<String>) {
    use issue::{Block, Inline};
    fn inl(c: &[Inline], out: &mut Vec<String>) {
        for i in c {
            match i {
                Inline::Link { url, .. } => out.push(url.clone()),
                Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => inl(c, out),
                _ => {}
            }
        }
    }
    for b in blocks {
        match b {
            Block::Paragraph(c) | Block::Heading { content: c, .. } => inl(c, out),
            Block::List(l) => l.items.iter().for_each(|i| collect(i, out)),
            Block::BlockQuote(b) => collect(b, out),
            _ => {}
        }
    }
}
