//! Warnings about a parsed issue: things that parse but are probably
//! mistakes (unpaired references, empty or duplicate articles, `http://`
//! links, no period, a draft), and what mail shows differently from the
//! site (HTML elements it drops, site-generator template syntax).

use super::markdown::{LinkSite, Note};
use super::model::{Issue, Period};
use crate::diag::{Diagnostic, LineIndex};
use std::collections::HashMap;

/// What the parser knew besides the issue itself. Offsets are in the body.
pub struct Facts<'a> {
    pub text: &'a str,
    pub lines: &'a LineIndex<'a>,
    pub body_start: usize,
    pub links: &'a [LinkSite],
    pub period: Option<Result<Period, usize>>,
    pub notes: &'a [(usize, Note)],
    pub references_heading: Option<usize>,
    pub unreadable_refs: usize,
    pub after_references: &'a [usize],
    pub paired: bool,
}

impl Facts<'_> {
    fn at(&self, body_offset: usize) -> (usize, usize) {
        self.lines.line_col(self.body_start + body_offset)
    }
}

/// Receives one warning: position, message, hint.
type Warn<'w> = dyn FnMut((usize, usize), String, Option<&str>) + 'w;

pub fn warnings(issue: &Issue, facts: &Facts<'_>) -> Vec<Diagnostic> {
    let path = issue.path.as_path();
    let mut out = Vec::new();
    let mut warn = |(line, col): (usize, usize), msg: String, hint: Option<&str>| {
        let d = Diagnostic::warning(path, line, col, msg);
        out.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    };
    if issue.front.draft {
        let line = key_line(&facts.text[..facts.body_start], "draft");
        warn(
            (line, 1),
            "draft: `send --due` skips this issue".into(),
            Some("remove `draft = true` when it is ready"),
        );
    }
    period(facts, &mut warn);
    notes(facts, &mut warn);
    articles(issue, facts, &mut warn);
    references(issue, facts, &mut warn);
    for link in facts.links {
        if link.url.starts_with("http://") {
            warn(
                facts.at(link.offset),
                format!("insecure link `{}`", link.url),
                Some("use https:// if the site supports it"),
            );
        }
    }
    out
}

/// Posts from other site generators have neither `## Period` nor
/// `## References`: the Article Weekly checks apply once one is there.
fn weekly_format(facts: &Facts<'_>) -> bool {
    facts.period.is_some() || facts.references_heading.is_some()
}

fn period(facts: &Facts<'_>, warn: &mut Warn<'_>) {
    let body_line = facts.at(0);
    match facts.period {
        None if !weekly_format(facts) => {}
        None => warn(
            body_line,
            "missing `## Period` section".into(),
            Some("add `## Period` with `` `2026-11-15` ~ `2026-11-21` `` after the front matter"),
        ),
        Some(Err(offset)) => warn(
            facts.at(offset),
            "`## Period` is not a date range".into(),
            Some("write it as `` `2026-11-15` ~ `2026-11-21` ``"),
        ),
        Some(Ok(p)) if p.start > p.end => warn(
            body_line,
            format!("`## Period` ends ({}) before it starts ({})", p.end, p.start),
            None,
        ),
        Some(Ok(_)) => {}
    }
}

fn articles(issue: &Issue, facts: &Facts<'_>, warn: &mut Warn<'_>) {
    if issue.articles.is_empty() {
        warn(
            facts.at(0),
            "no articles: expected one `##` heading per article".into(),
            None,
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for a in &issue.articles {
        if a.blocks.is_empty() {
            warn((a.line, 1), format!("article `{}` is empty", a.title), None);
        }
        if a.title.is_empty() {
            warn((a.line, 1), "article heading is empty".into(), None);
        } else if let Some(first) = seen.get(a.title.as_str()) {
            warn(
                (a.line, 1),
                format!("duplicate article title `{}` (first on line {first})", a.title),
                None,
            );
        } else {
            seen.insert(&a.title, a.line);
        }
    }
}

fn references(issue: &Issue, facts: &Facts<'_>, warn: &mut Warn<'_>) {
    let refs_line = facts.references_heading.map_or(facts.at(0), |o| facts.at(o));
    if !facts.paired && !issue.articles.is_empty() && weekly_format(facts) {
        let (a, r) = (issue.articles.len(), issue.references.len());
        let msg = if facts.references_heading.is_none() {
            format!("no `## References` section: {a} article(s) have no link")
        } else {
            format!(
                "{a} article{} but {r} reference{}: articles are not paired with references",
                plural(a),
                plural(r)
            )
        };
        let hint = "list one top-level reference per article, in article order; nest related links under it";
        warn(refs_line, msg, Some(hint));
    }
    if facts.unreadable_refs > 0 {
        warn(
            refs_line,
            format!("{} reference item(s) without a link", facts.unreadable_refs),
            Some("each item should be a URL or a `[title](url)` link"),
        );
    }
    for &offset in facts.after_references {
        warn(
            facts.at(offset),
            "section after `## References`".into(),
            Some("`## References` should come last"),
        );
    }
}

/// One warning per dropped element name and one for template syntax, at
/// their first occurrence: a post full of `<details>` needs one line, not fifty.
fn notes(facts: &Facts<'_>, warn: &mut Warn<'_>) {
    let mut seen: Vec<&Note> = Vec::new();
    let mut template_syntax = 0;
    for (offset, note) in facts.notes {
        match note {
            Note::TemplateSyntax(snippet) => {
                template_syntax += 1;
                if template_syntax == 1 {
                    warn(
                        facts.at(*offset),
                        format!("`{snippet}` is site-generator template syntax: mail shows it as text"),
                        Some("replace shortcodes and partials with markdown in the issue"),
                    );
                }
            }
            Note::DroppedHtml(name) if !seen.contains(&note) => {
                seen.push(note);
                let msg = if super::rawhtml::CONTENT_DROPPED.contains(&name.as_str()) {
                    format!("HTML element `<{name}>` is not shown in mail: dropped")
                } else {
                    format!("HTML element `<{name}>` is not shown in mail: its tags are dropped, its text kept")
                };
                warn(
                    facts.at(*offset),
                    msg,
                    Some("use markdown, or inline tags such as <span>, <b>, <em>, <sup>, <kbd>"),
                );
            }
            Note::DroppedHtml(_) => {}
            Note::TooDeep if !seen.contains(&note) => {
                seen.push(note);
                let msg = format!(
                    "HTML nested deeper than {} levels is shown as text",
                    super::rawhtml::MAX_DEPTH
                );
                warn(facts.at(*offset), msg, Some("flatten the HTML, or write markdown"));
            }
            Note::TooDeep => {}
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// 1-based line of `key =`/`key:` in the front matter (1 if not found).
fn key_line(front: &str, key: &str) -> usize {
    for (i, line) in front.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix(key) {
            if rest.trim_start().starts_with(['=', ':']) {
                return i + 1;
            }
        }
    }
    1
}
