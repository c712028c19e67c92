//! `send --due`: which issues are due at a given moment. A pure function of
//! the issues, the clock, `max_age_days`, `send_after` and what the journal
//! knows of each issue, so that its rules are tested with exact bounds.
//!
//! The rules, in order: a draft is never due; an issue dated in the future
//! is held back; an issue the journal knows (started, capped, aborted) is
//! due while it has recipients left, whatever its age or `send_after` (an
//! issue already started is finished, never dropped half-way); a finished
//! one comes back while a transient failure (4xx, network) is ready for
//! another try; an unknown one is skipped when dated before `send_after`
//! (a back catalogue, silently) or older than `max_age_days` (with a warning).

use crate::issue::Issue;
use crate::state::journal::{Progress, TransientFailure};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// What `--due` makes of one issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Never sent, or started and not done: every recipient not sent yet.
    Due,
    /// Finished, but some transient failures are ready for another try:
    /// only those recipients.
    Retry,
    Draft,
    /// Dated in the future.
    NotYet,
    Finished,
    /// Dated before `send_after`: part of the back catalogue.
    BeforeSendAfter,
    /// Older than `max_age_days`: never sent late by surprise.
    TooOld,
}

/// The clock and settings the verdicts depend on.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub now: DateTime<Utc>,
    pub max_age: Duration,
    pub send_after: Option<DateTime<Utc>>,
    /// What the journal knows, by issue id (empty for a dry run).
    pub journal: &'a HashMap<String, Progress>,
}

/// The first retry of a transient failure waits this long; each further
/// one twice as long as the one before, up to [`RETRY_MAX_WAIT`].
pub const RETRY_FIRST_WAIT: Duration = Duration::minutes(15);
pub const RETRY_MAX_WAIT: Duration = Duration::hours(4);
/// After this long since the recipient was first planned, a transient
/// failure stays failed (as a mail server gives up on its queue).
pub const RETRY_FOR: Duration = Duration::days(3);

/// When a transient failure may be tried again, or None once it is too old.
pub fn retry_at(f: &TransientFailure) -> Option<DateTime<Utc>> {
    let doublings = f.attempts.saturating_sub(1).min(16);
    let wait = (RETRY_FIRST_WAIT * 2i32.pow(doublings)).min(RETRY_MAX_WAIT);
    let at = f.failed_at + wait;
    (at < f.first_planned + RETRY_FOR).then_some(at)
}

/// The transient failures of an issue that are ready for another try.
pub fn ready_retries(p: &Progress, now: DateTime<Utc>) -> impl Iterator<Item = &TransientFailure> {
    p.transient
        .iter()
        .filter(move |f| retry_at(f).is_some_and(|at| at <= now))
}

/// The earliest coming retry of an issue, if any.
pub fn next_retry(p: &Progress) -> Option<DateTime<Utc>> {
    p.transient.iter().filter_map(retry_at).min()
}

/// The verdict for one issue.
pub fn verdict(issue: &Issue, rules: &Rules<'_>) -> Verdict {
    let date = issue.front.date.with_timezone(&Utc);
    if issue.front.draft {
        return Verdict::Draft;
    }
    if date > rules.now {
        return Verdict::NotYet;
    }
    if let Some(p) = rules.journal.get(&issue.id) {
        return if p.marked {
            Verdict::Finished
        } else if !p.finished || p.unsent > 0 {
            Verdict::Due
        } else if ready_retries(p, rules.now).next().is_some() {
            Verdict::Retry
        } else {
            Verdict::Finished
        };
    }
    if rules.send_after.is_some_and(|t| date < t) {
        Verdict::BeforeSendAfter
    } else if rules.now - date > rules.max_age {
        Verdict::TooOld
    } else {
        Verdict::Due
    }
}

/// The verdict for each issue, in the order given.
pub fn due_issues<'a>(issues: &'a [Issue], rules: &Rules<'_>) -> Vec<(&'a Issue, Verdict)> {
    issues.iter().map(|issue| (issue, verdict(issue, rules))).collect()
}

/// The issue `send --due` will send next: the earliest one held back for
/// its date (not a draft).
pub fn next_held_back<'a>(verdicts: &[(&'a Issue, Verdict)]) -> Option<&'a Issue> {
    verdicts
        .iter()
        .filter(|(_, v)| *v == Verdict::NotYet)
        .map(|(i, _)| *i)
        .min_by_key(|i| i.front.date)
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

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn failure(attempts: u32, failed_at: &str, first: &str) -> TransientFailure {
        TransientFailure {
            email: "a@x.org".into(),
            attempts,
            failed_at: t(failed_at),
            first_planned: t(first),
        }
    }

    fn verdicts(issues: &[Issue], rules: &Rules<'_>) -> Vec<(String, Verdict)> {
        due_issues(issues, rules)
            .into_iter()
            .map(|(i, v)| (i.id.clone(), v))
            .collect()
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
        let journal = HashMap::from([(
            "done".to_string(),
            Progress {
                finished: true,
                ..Progress::default()
            },
        )]);
        let rules = Rules {
            now: t("2026-11-23T00:00:00Z"),
            max_age: Duration::days(7),
            send_after: None,
            journal: &journal,
        };
        let got = verdicts(&issues, &rules);
        let want = [
            ("past", Verdict::Due),
            ("edge", Verdict::Due),
            ("old", Verdict::TooOld),
            ("future", Verdict::NotYet),
            ("draft", Verdict::Draft),
            ("done", Verdict::Finished),
        ];
        assert_eq!(got, want.map(|(i, v)| (i.to_string(), v)));
        assert_eq!(next_held_back(&due_issues(&issues, &rules)).unwrap().id, "future");
    }

    #[test]
    fn send_after_silences_the_back_catalogue_but_never_a_started_issue() {
        let issues = [
            issue("before", "2026-10-31T23:59:59Z", false),
            issue("at", "2026-11-01T00:00:00Z", false),
            issue("started", "2026-10-01T00:00:00Z", false),
            issue("capped", "2026-11-01T00:00:00Z", false),
            issue("marked", "2026-11-02T00:00:00Z", false),
        ];
        let journal = HashMap::from([
            ("started".to_string(), Progress::default()),
            (
                "marked".to_string(),
                Progress {
                    finished: true,
                    marked: true,
                    unsent: 12,
                    ..Progress::default()
                },
            ),
            (
                "capped".to_string(),
                Progress {
                    finished: true,
                    unsent: 40,
                    ..Progress::default()
                },
            ),
        ]);
        let rules = Rules {
            now: t("2026-11-03T00:00:00Z"),
            max_age: Duration::days(7),
            send_after: Some(t("2026-11-01T00:00:00Z")),
            journal: &journal,
        };
        let got = verdicts(&issues, &rules);
        let want = [
            ("before", Verdict::BeforeSendAfter),
            ("at", Verdict::Due),
            ("started", Verdict::Due),
            ("capped", Verdict::Due),
            ("marked", Verdict::Finished),
        ];
        assert_eq!(got, want.map(|(i, v)| (i.to_string(), v)));
        // A started issue far older than max_age_days is still finished.
        let late = Rules {
            now: t("2027-03-01T00:00:00Z"),
            ..rules
        };
        assert_eq!(verdict(&issues[2], &late), Verdict::Due);
        assert_eq!(verdict(&issues[1], &late), Verdict::TooOld);
    }

    #[test]
    fn transient_failures_come_back_with_growing_waits_for_three_days() {
        let f = failure(1, "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z");
        assert_eq!(retry_at(&f), Some(t("2026-11-23T00:15:00Z")));
        let f = failure(3, "2026-11-23T00:00:00Z", "2026-11-22T00:00:00Z");
        assert_eq!(retry_at(&f), Some(t("2026-11-23T01:00:00Z")));
        let f = failure(30, "2026-11-23T00:00:00Z", "2026-11-22T00:00:00Z");
        assert_eq!(retry_at(&f), Some(t("2026-11-23T04:00:00Z")), "at most 4 h apart");
        let f = failure(9, "2026-11-25T22:00:00Z", "2026-11-23T00:00:00Z");
        assert_eq!(retry_at(&f), None, "would be after three days: given up");

        let issues = [issue("w1", "2026-11-23T00:00:00Z", false)];
        let mut journal = HashMap::from([(
            "w1".to_string(),
            Progress {
                finished: true,
                marked: false,
                unsent: 0,
                transient: vec![failure(1, "2026-11-23T01:00:00Z", "2026-11-23T00:00:00Z")],
            },
        )]);
        let at = |now: &str, journal: &HashMap<String, Progress>| {
            let rules = Rules {
                now: t(now),
                max_age: Duration::days(7),
                send_after: None,
                journal,
            };
            verdict(&issues[0], &rules)
        };
        assert_eq!(at("2026-11-23T01:14:59Z", &journal), Verdict::Finished);
        assert_eq!(at("2026-11-23T01:15:00Z", &journal), Verdict::Retry);
        // One given up, one coming: the coming one is the next retry.
        let p = journal.get_mut("w1").unwrap();
        p.transient
            .push(failure(9, "2026-11-25T22:00:00Z", "2026-11-23T00:00:00Z"));
        assert_eq!(next_retry(&journal["w1"]), Some(t("2026-11-23T01:15:00Z")));
        journal.get_mut("w1").unwrap().transient.remove(0);
        assert_eq!(at("2026-11-26T00:00:00Z", &journal), Verdict::Finished, "given up");
        assert_eq!(next_retry(&journal["w1"]), None);
    }
}
