//! `send --due`: which issues are due at a given moment. A pure function of
//! the issues, the clock, `max_age_days` and the finished issues, so that its
//! rules are tested with exact bounds.

use crate::issue::Issue;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// What `--due` makes of one issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Due,
    Draft,
    /// Dated in the future.
    NotYet,
    Finished,
    /// Older than `max_age_days`: never sent late by surprise.
    TooOld,
}

/// The verdict for each issue, in the order given.
pub fn due_issues<'a>(
    issues: &'a [Issue],
    now: DateTime<Utc>,
    max_age: Duration,
    finished: &HashSet<String>,
) -> Vec<(&'a Issue, Verdict)> {
    issues
        .iter()
        .map(|issue| {
            let date = issue.front.date.with_timezone(&Utc);
            let verdict = if issue.front.draft {
                Verdict::Draft
            } else if date > now {
                Verdict::NotYet
            } else if finished.contains(&issue.id) {
                Verdict::Finished
            } else if now - date > max_age {
                Verdict::TooOld
            } else {
                Verdict::Due
            };
            (issue, verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn issue(id: &str, date: &str, draft: bool) -> Issue {
        let text =
            format!("+++\ntitle = \"{id}\"\ndate = {date}\nslug = \"{id}\"\ndraft = {draft}\n+++\n\n## A\n\n- a\n");
        crate::issue::parse(Path::new("i.md"), &text).unwrap().issue
    }

    #[test]
    fn verdicts_at_exact_bounds() {
        let issues = [
            issue("past", "2026-11-23T09:00:00+09:00", false),
            issue("edge", "2026-11-16T00:00:00Z", false),
            issue("old", "2026-11-15T23:59:59Z", false),
            issue("future", "2026-11-23T00:00:01Z", false),
            issue("draft", "2026-11-20T00:00:00Z", true),
            issue("done", "2026-11-22T00:00:00Z", false),
        ];
        let now: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let finished = HashSet::from(["done".to_string()]);
        let got: Vec<(&str, Verdict)> = due_issues(&issues, now, Duration::days(7), &finished)
            .into_iter()
            .map(|(i, v)| (i.id.as_str(), v))
            .collect();
        assert_eq!(
            got,
            [
                ("past", Verdict::Due),
                ("edge", Verdict::Due),
                ("old", Verdict::TooOld),
                ("future", Verdict::NotYet),
                ("draft", Verdict::Draft),
                ("done", Verdict::Finished),
            ]
        );
    }
}
