//! A live send of one issue, with the run lock held: who is left to mail,
//! the volume caps (`max_per_hour`, `max_per_day`, counted from the journal
//! over every run and issue), the journal writer, and one `runs` row saying
//! how the run ended and why, for `status`.

use super::send_steps::{confirm, decide, deliver_planned, smtp_sink, summarise, Ran};
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::issue::Issue;
use crate::message::MessageFactory;
use crate::output;
use crate::send::caps::{self, Usage};
use crate::send::dispatch::Report;
use crate::send::plan::SendPlan;
use crate::send::recipients::{Numbering, Plan, Scan};
use crate::send::source::Source;
use crate::state::runs::{self, Outcome, RunEnd};
use crate::state::writer::{JournalWriter, NoJournal};
use crate::state::{self, journal};
use crate::transport::smtp::SmtpSink;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::collections::HashSet;

/// Everything one live run of one issue needs.
pub(super) struct Live<'a> {
    pub cfg: &'a Config,
    pub plan: &'a SendPlan,
    pub issue: &'a Issue,
    pub factory: &'a MessageFactory<'a>,
    /// The list, read again (as a stream) to decide and to send.
    pub source: &'a dyn Source,
    /// A `--due` retry: only these recipients (address keys).
    pub only: Option<&'a HashSet<String>>,
    pub without_journal: bool,
    pub confirmed: bool,
}

impl Live<'_> {
    pub fn run(&self, scan: Scan) -> anyhow::Result<Ran> {
        let (cfg, issue) = (self.cfg, self.issue);
        let mut conn = state::open(&cfg.paths.state)?;
        // Refusals recorded by a run that stopped before its thresholds were applied.
        apply_bounce_thresholds(cfg, &conn)?;
        let resume = journal::resume(&conn, &issue.id)?;
        let mut planned = decide(scan, self.source, Some(&conn), &resume.sent, self.plan, self.only)?;
        if planned.total == 0 {
            let already = planned.skipped.already_sent;
            output::log(&format!("{}: nothing to send ({already} already sent)", issue.id));
            if self.plan.limit.is_none() && self.only.is_none() {
                journal::finish_run(&conn, &issue.id)?;
            }
            return Ok(Exit::Ok.into());
        }
        let sink = smtp_sink(cfg)?;
        let budget = caps::budget(&usage(&conn, cfg)?).map(|b| usize::try_from(b).unwrap_or(usize::MAX));
        let now_sending = budget.map_or(planned.total, |b| b.min(planned.total));
        if now_sending > 0 {
            warn_about_previous_issue(&conn, &issue.id)?;
            confirm(self.confirmed, issue, now_sending, cfg)?;
        }
        if self.without_journal {
            // Benchmarks measure the journal's cost by sending without it; a run
            // like that records nothing, so a re-run would mail everyone again.
            output::warn("NEWSLETTER_BENCH_WITHOUT_JOURNAL is set: nothing is journalled (benchmarks only)");
            let numbering = Numbering::default();
            let report = deliver_planned(
                &sink,
                self.factory,
                &planned,
                self.source,
                numbering,
                planned.total,
                &NoJournal,
                self.plan,
            );
            return Ok(summarise(issue, &report, &planned.skipped, false, &[]).into());
        }
        // Everyone planned counts as a recipient of the issue, so those a cap
        // holds back stay pending; a retry of a few keeps the count.
        let recipients = self
            .only
            .is_none()
            .then_some((resume.sent.len() + planned.total) as u64);
        let start = journal::begin_run(&mut conn, &issue.id, recipients)?;
        let run = runs::start(&conn, &issue.id)?;
        planned.skipped.over_cap = planned.total - now_sending;
        if now_sending == 0 {
            return self.capped_before_start(&conn, run, planned.skipped.over_cap);
        }
        output::log(&format!(
            "{}: sending to {} recipients ({} already sent) via {}:{}, {} connection(s)",
            issue.id,
            now_sending,
            planned.skipped.already_sent,
            cfg.smtp.host,
            cfg.smtp.port,
            self.plan.dispatch.concurrency
        ));
        let numbering = Numbering {
            next: start.next_seq,
            open: resume.open,
        };
        let mut report = match self.journalled(&sink, &planned, numbering, now_sending) {
            Ok(r) => r,
            Err(e) => {
                let end = ended(Outcome::Aborted, Some(format!("{e:#}")), &Report::default());
                let _ = runs::end(&conn, run, &end);
                return Err(e);
            }
        };
        report.suppressed = apply_bounce_thresholds(cfg, &conn)?;
        self.finish(&conn, run, &report, &planned)
    }

    /// Records how the run ended, finishes the issue when it went through,
    /// and prints the summary.
    fn finish(&self, conn: &Connection, run: i64, report: &Report, planned: &Plan) -> anyhow::Result<Ran> {
        let over_cap = planned.skipped.over_cap;
        let mut notes = Vec::new();
        let (outcome, detail) = if let Some(why) = &report.aborted {
            (Outcome::Aborted, Some(why.clone()))
        } else if report.interrupted {
            (
                Outcome::Interrupted,
                Some("interrupted (Ctrl-C or SIGTERM)".to_string()),
            )
        } else if over_cap > 0 {
            let cap = self.cap_note(conn, over_cap)?;
            notes.push(cap.clone());
            (Outcome::Capped, Some(cap))
        } else if self.plan.limit.is_some() && planned.skipped.over_limit > 0 {
            (
                Outcome::Limited,
                Some(format!("--limit left {}", planned.skipped.over_limit)),
            )
        } else {
            (Outcome::Finished, None)
        };
        let complete = matches!(outcome, Outcome::Finished) && report.not_attempted == 0;
        if complete && self.plan.limit.is_none() && self.only.is_none() {
            journal::finish_run(conn, &self.issue.id)?;
        }
        runs::end(conn, run, &ended(outcome, detail, report))?;
        let exit = summarise(self.issue, report, &planned.skipped, false, &notes);
        Ok(Ran {
            exit,
            capped: outcome == Outcome::Capped,
        })
    }

    /// A cap left nothing for this run: say when it can go on, exit 0.
    fn capped_before_start(&self, conn: &Connection, run: i64, pending: usize) -> anyhow::Result<Ran> {
        let note = self.cap_note(conn, pending)?;
        output::log(&format!("{}: nothing sent: {note}", self.issue.id));
        runs::end(conn, run, &ended(Outcome::Capped, Some(note), &Report::default()))?;
        Ok(Ran {
            exit: Exit::Ok,
            capped: true,
        })
    }

    /// `"40 left pending by max_per_hour = 300: can go on at …"`.
    fn cap_note(&self, conn: &Connection, pending: usize) -> anyhow::Result<String> {
        let usage = usage(conn, self.cfg)?;
        let reached: Vec<&Usage> = usage.iter().filter(|u| u.left() == 0).collect();
        let names: Vec<String> = reached
            .iter()
            .map(|u| format!("{} = {}", u.cap.key, u.cap.limit))
            .collect();
        let when = match resume(conn, &usage)? {
            Some(t) => format!(
                "can go on at {} (send --due continues then)",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            None => "can go on once the window moves on".to_string(),
        };
        Ok(format!("{pending} left pending by {}: {when}", names.join(" and ")))
    }

    /// Delivers the first `count` recipients with the journal writer
    /// running; a writer failure aborts (exit 3).
    fn journalled(
        &self,
        sink: &SmtpSink,
        planned: &Plan,
        numbering: Numbering,
        count: usize,
    ) -> anyhow::Result<Report> {
        let conn = state::open(&self.cfg.paths.state)?;
        let (writer, thread) = JournalWriter::start(conn, self.issue.id.clone())?;
        writer.gather(self.plan.dispatch.concurrency);
        let report = deliver_planned(
            sink,
            self.factory,
            planned,
            self.source,
            numbering,
            count,
            &writer,
            self.plan,
        );
        drop(writer);
        let written = thread
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("journal writer panicked")));
        if let Err(e) = written {
            return Err(Failure::new(
                Exit::Aborted,
                format!("the journal could not be written ({e:#}); messages in flight may be sent again by a re-run"),
            ));
        }
        Ok(report)
    }
}

/// Suppresses the addresses whose recorded refusals and bounces reach the
/// `[bounces]` thresholds, saying so; how many.
fn apply_bounce_thresholds(cfg: &Config, conn: &Connection) -> anyhow::Result<usize> {
    let candidates = state::bounces::unsuppressed_addresses(conn)?;
    let done = state::bounces::apply_thresholds(conn, &cfg.bounces.thresholds, &candidates)?;
    for s in &done {
        output::log(&format!("suppressed {} as {} ({})", s.email, s.reason, s.why));
    }
    Ok(done.len())
}

/// Warns before a live run when the previous issue bounced or drew
/// complaints over the rates mailbox providers act on.
fn warn_about_previous_issue(conn: &Connection, current: &str) -> anyhow::Result<()> {
    let previous = state::bounces::recent_issues(conn, 2)?
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| id != current);
    let Some(previous) = previous else {
        return Ok(());
    };
    let sent = journal::issue_status(conn, &previous)?.sent;
    let counts = state::bounces::counts_by_issue(conn)?
        .remove(&Some(previous.clone()))
        .unwrap_or_default();
    for w in crate::intake::rate_warnings(&previous, sent, &counts) {
        output::warn(&w);
    }
    Ok(())
}

fn ended(outcome: Outcome, detail: Option<String>, r: &Report) -> RunEnd {
    RunEnd {
        outcome,
        detail,
        sent: r.sent as u64,
        failed: r.failed.len() as u64,
        suppressed: r.suppressed as u64,
    }
}

/// Each configured cap with what the journal counts in its window now.
fn usage(conn: &Connection, cfg: &Config) -> anyhow::Result<Vec<Usage>> {
    let now = journal::clock();
    caps::caps(&cfg.smtp)
        .into_iter()
        .map(|cap| {
            let used = journal::sent_since(conn, now - cap.window)?;
            Ok(Usage { cap, used })
        })
        .collect()
}

/// When the reached caps let the next message go.
pub(super) fn resume(conn: &Connection, usage: &[Usage]) -> anyhow::Result<Option<DateTime<Utc>>> {
    let now = journal::clock();
    let mut reached = Vec::new();
    for u in usage {
        let Some(k) = u.must_leave() else { continue };
        if let Some(t) = journal::nth_sent_since(conn, now - u.cap.window, k)? {
            reached.push((*u, t));
        }
    }
    Ok(caps::resume_at(&reached))
}
