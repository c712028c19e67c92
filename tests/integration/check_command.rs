//! `newsletter check` end to end, and the repository's example issues.

use crate::harness::{repo_root, Sandbox};
use newsletter::issue::{self, Block, Inline};

#[test]
fn example_folder_checks_clean() {
    let sb = Sandbox::example();
    let run = sb.run(&["check"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 2 issues: 0 errors, 0 warnings\n");
    assert_eq!(run.stderr, "");
    let run = sb.run(&["check", "issues/2026-w47.md"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 1 issue: 0 errors, 0 warnings\n");
}

#[test]
fn quiet_prints_nothing_when_clean() {
    let sb = Sandbox::example();
    let run = sb.run(&["--quiet", "check"]);
    run.expect_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

#[test]
fn an_error_exits_2_with_a_diagnostic() {
    let sb = Sandbox::example();
    sb.write("issues/zz-broken.md", "+++\ntitle = \"Broken\"\n\n## Period\n");
    let run = sb.run(&["check"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "issues/zz-broken.md:1:1: error: unterminated front matter: no closing `+++` line\n  \
         hint: did you forget the closing `+++`?\n"
    );
    assert_eq!(run.stdout, "checked 3 issues: 1 error, 0 warnings\n");
    // --quiet keeps errors.
    let run = sb.run(&["-q", "check"]);
    run.expect_code(2);
    assert!(run.stderr.contains("zz-broken.md:1:1: error"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn warnings_do_not_fail_the_check() {
    let sb = Sandbox::example();
    sb.write(
        "w.md",
        "+++\ntitle = \"Field Notes Weekly, Issue 49\"\ndate = 2026-12-07\ndraft = true\n+++\n\n\
         ## Same\n\n## Same\n\n- see http://example.com/old\n\n## References\n\n- https://example.com/one\n",
    );
    let run = sb.run(&["check", "w.md"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "w.md:4:1: warning: draft: `send --due` skips this issue\n  hint: remove `draft = true` when it is ready\n\
         w.md:6:1: warning: missing `## Period` section\n  hint: add `## Period` with `` `2026-11-15` ~ `2026-11-21` `` after the front matter\n\
         w.md:7:1: warning: article `Same` is empty\n\
         w.md:9:1: warning: duplicate article title `Same` (first on line 7)\n\
         w.md:13:1: warning: 2 articles but 1 reference: articles are not paired with references\n  \
         hint: list one top-level reference per article, in article order; nest related links under it\n\
         w.md:11:7: warning: insecure link `http://example.com/old`\n  hint: use https:// if the site supports it\n"
    );
    assert_eq!(run.stdout, "checked 1 issue: 0 errors, 6 warnings\n");
    // --quiet hides warnings and the summary.
    let run = sb.run(&["--quiet", "check", "w.md"]);
    run.expect_code(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

#[test]
fn duplicate_issue_ids_are_errors() {
    let sb = Sandbox::example();
    let w47 = sb.read("issues/2026-w47.md");
    sb.write("issues/copy.md", w47.replacen("+++\n", "+++\nslug = \"2026-w47\"\n", 1));
    let run = sb.run(&["check"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("issues/copy.md:1:1: error: issue id `2026-w47` is also used by issues/2026-w47.md"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_config_exits_2() {
    let sb = Sandbox::empty();
    sb.run(&["check"]).expect_code(2);
    let sb = Sandbox::example();
    sb.write(
        "newsletter.toml",
        "[newsletter]\nname = \"x\"\nfrom = \"a@example.com\"\nbogus = 1\n",
    );
    let run = sb.run(&["check"]);
    run.expect_code(2);
    assert!(run.stderr.contains("newsletter.toml:4:"), "{}", run.stderr);
}

/// Every link target in a tree of blocks, in order.
fn links(blocks: &[Block]) -> Vec<String> {
    fn inl(out: &mut Vec<String>, c: &[Inline]) {
        for i in c {
            match i {
                Inline::Link { url, content } => {
                    out.push(url.clone());
                    inl(out, content);
                }
                Inline::Emphasis(c) | Inline::Strong(c) | Inline::Strikethrough(c) => inl(out, c),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for b in blocks {
        match b {
            Block::Paragraph(c) | Block::Heading { content: c, .. } => inl(&mut out, c),
            Block::List(l) => l.items.iter().for_each(|i| out.extend(links(i))),
            Block::BlockQuote(b) => out.extend(links(b)),
            _ => {}
        }
    }
    out
}

#[test]
fn example_issue_w47_korean_toml() {
    let p = issue::from_file(&repo_root().join("issues/2026-w47.md")).unwrap();
    let i = p.issue;
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!((i.id.as_str(), i.number, i.lang.as_str()), ("2026-w47", Some(47), "ko"));
    assert_eq!(i.front.date.to_rfc3339(), "2026-11-23T09:00:00+09:00");
    assert_eq!(i.period.unwrap().start.to_string(), "2026-11-15");
    assert_eq!(i.intro.as_ref().unwrap().title, "개요");
    assert_eq!(i.articles.len(), 3);
    assert_eq!(links(&i.articles[0].blocks), ["https://sqlite.org/wal.html"]);
    assert_eq!(
        links(&i.articles[1].blocks),
        [
            "https://example.org/postmortem-template",
            "https://example.com/blog/postmortems"
        ]
    );
    assert_eq!(links(&i.articles[2].blocks), ["https://example.net/wide-events"]);
    assert_eq!(i.articles[2].url.as_deref(), Some("https://example.net/wide-events"));
    assert_eq!(
        i.references[1].related[0].url,
        "https://example.org/postmortem-template"
    );
}

#[test]
fn example_issue_w48_english_yaml() {
    let p = issue::from_file(&repo_root().join("issues/2026-w48.md")).unwrap();
    let i = p.issue;
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!((i.number, i.lang.as_str()), (Some(48), "en"));
    assert!(!i.front.date_has_time);
    assert_eq!(i.front.date.to_rfc3339(), "2026-11-30T00:00:00+00:00");
    assert_eq!(i.front.tags, ["Field Notes", "Weekly"]);
    assert_eq!(
        i.front.description.as_deref(),
        Some("Time zones, retries and one tiny shell trick.")
    );
    assert_eq!(i.articles[2].title, "One shell trick: set -euo pipefail");
    assert_eq!(i.references[2].title.as_deref(), Some("Use the unofficial strict mode"));
    assert_eq!(links(&i.articles[1].blocks), ["https://example.org/backoff-demo"]);
    // An ordered list nested in a bullet, with a bullet nested in item 2.
    let Block::List(outer) = &i.articles[1].blocks[0] else {
        panic!("{:?}", i.articles[1].blocks)
    };
    let Block::List(ordered) = &outer.items[1][1] else {
        panic!("{:?}", outer.items[1])
    };
    assert_eq!((ordered.start, ordered.items.len()), (Some(1), 3));
    assert!(matches!(&ordered.items[1][1], Block::List(l) if l.start.is_none()));
}

#[test]
fn check_audits_the_rendered_html() {
    let sb = Sandbox::example();
    // Without archive_url a relative image has nothing to resolve against.
    let cfg = sb
        .read("newsletter.toml")
        .replace("archive_url = \"https://example.com/weekly/{id}/\"\n", "");
    sb.write("newsletter.toml", cfg);
    sb.write(
        "a.md",
        "+++\ntitle = \"Audit\"\ndate = 2026-12-07\n+++\n\n## One\n\n![](https://example.com/chart.png)\n\nDetails [here](https://example.com/details).\n\n![Diagram](diagram.png)\n\n<iframe src=\"https://example.com/v\"></iframe>\n",
    );
    let run = sb.run(&["check", "a.md"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "a.md:14:1: warning: HTML element `<iframe>` is not shown in mail: dropped\n  \
         hint: use markdown, or inline tags such as <span>, <b>, <em>, <sup>, <kbd>\n\
         a.md:8:5: warning: image `https://example.com/chart.png` has no alt text: screen readers and mail with images off show nothing\n  \
         hint: describe the image: ![what it shows](url)\n\
         a.md:10:16: warning: link text `here` does not say where the link goes (https://example.com/details)\n  \
         hint: name the destination, e.g. [the release notes](url)\n\
         a.md:12:12: warning: image `diagram.png` is not shown: mail needs a full address\n  \
         hint: write an https:// URL, or set archive_url so relative addresses resolve against the issue's web page\n"
    );
    assert_eq!(run.stdout, "checked 1 issue: 0 errors, 4 warnings\n");
}
