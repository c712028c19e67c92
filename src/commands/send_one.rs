//! One issue sent in the plan's mode: a test copy, a dry run into `.eml`
//! files, or a live send (`send_live.rs`).

use super::send_steps::{
    decide, deliver, deliver_planned, existing_db, list_source, scan_list, smtp_sink, summarise, Ran,
};
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::issue::Issue;
use crate::keys::Keys;
use crate::message::MessageFactory;
use crate::output;
use crate::send::dispatch::{Job, Jobs};
use crate::send::plan::{Mode, SendPlan};
use crate::send::recipients::{Numbering, Skipped};
use crate::state::writer::{NoJournal, Slot};
use crate::transport::eml::EmlSink;
use anyhow::Context;
use std::collections::HashSet;

/// Sends one issue in the plan's mode. `only`: a `--due` retry takes only
/// these recipients (address keys).
pub(super) fn send_issue(
    cfg: &Config,
    keys: &Keys,
    plan: &SendPlan,
    issue: &Issue,
    only: Option<&HashSet<String>>,
) -> anyhow::Result<Ran> {
    let prepared = crate::render::prepare(issue, cfg).with_context(|| format!("rendering {}", issue.path.display()))?;
    let factory = MessageFactory::new(cfg, issue, &prepared, keys, plan.now)
        .map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    let source = list_source(cfg);
    match &plan.mode {
        Mode::TestCopy { to, dir } => {
            let factory = factory.test_copies();
            let jobs = Jobs::from_vec(vec![Job {
                email: to.clone(),
                name: None,
                attributes: Vec::new(),
                slot: Slot::default(),
            }]);
            let report = match dir {
                Some(dir) => deliver(&EmlSink::new(dir.clone())?, &factory, &jobs, &NoJournal, plan),
                None => deliver(&smtp_sink(cfg)?, &factory, &jobs, &NoJournal, plan),
            };
            Ok(summarise(issue, &report, &Skipped::default(), dir.is_some(), &[]).into())
        }
        Mode::DryRun { outbox } => {
            let scan = scan_list(cfg, &source)?;
            let db = existing_db(cfg)?;
            // As before: a dry run under --due shows every recipient, not only the retries.
            let planned = decide(scan, &source, db.as_ref(), &[], plan, None)?;
            let sink = EmlSink::new(outbox.join(&issue.id))?;
            let report = deliver_planned(
                &sink,
                &factory,
                &planned,
                &source,
                Numbering::default(),
                planned.total,
                &NoJournal,
                plan,
            );
            if !output::quiet() {
                println!("dry run: wrote {} messages to {}", report.sent, sink.dir().display());
                if planned.entries() == 0 {
                    println!(
                        "the subscriber list is empty: add readers to {}",
                        cfg.paths.subscribers.display()
                    );
                }
            }
            Ok(summarise(issue, &report, &planned.skipped, true, &[]).into())
        }
        Mode::Live { confirmed, journal } => {
            let scan = scan_list(cfg, &source)?;
            super::check::gate(cfg, keys, issue, scan.columns())?;
            let _lock = crate::lock::acquire(&cfg.paths.state)?;
            // From here on delivery may have started: an error that does not
            // say otherwise means "aborted, re-run to resume".
            let stopped = "the run stopped; the journal is consistent: re-run the same command to resume";
            let live = super::send_live::Live {
                cfg,
                plan,
                issue,
                factory: &factory,
                source: &source,
                only,
                without_journal: !*journal,
                confirmed: *confirmed,
            };
            live.run(scan)
                .map_err(|e| crate::exit::default_to(e, Exit::Aborted, stopped))
        }
    }
}
