//! Bounces and complaints flowing back into the list: read a returned
//! message ([`crate::bounce::parse`]), tie each failure to a subscriber and
//! an issue ([`matching`]), record it ([`crate::state::bounces`]), and once
//! a batch is read, suppress the addresses the thresholds say to.
//!
//! `bounces import` feeds it files, Maildirs, mboxes and stdin; `bounces
//! fetch` feeds it an IMAP mailbox ([`imap`]).

pub mod imap;
pub mod matching;

use crate::bounce::{Entry, Report};
use crate::config::bounces::Thresholds;
use crate::state::bounces::{self as records, Class, Record, Suppressed};
use matching::Directory;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::fmt;

/// What became of one entry of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Recorded against a subscriber.
    Recorded {
        email: String,
        class: Class,
        issue: Option<String>,
        by: &'static str,
    },
    /// This report was recorded before.
    Duplicate,
    /// A delay warning: the message is still queued. Not counted.
    Delayed,
    /// Not a bounce or complaint (auto-reply, delivery notice, other mail).
    Ignored,
    /// A bounce or complaint about mail that is not ours, or about nobody
    /// on the list; the words say why.
    NotOurs(String),
}

/// What one message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub fates: Vec<Fate>,
}

impl Handled {
    /// Some entry is (or was before) recorded: the message is a bounce of ours.
    pub fn is_ours(&self) -> bool {
        self.fates
            .iter()
            .any(|f| matches!(f, Fate::Recorded { .. } | Fate::Duplicate | Fate::Delayed))
    }
}

/// Totals of a batch, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    pub messages: usize,
    pub unreadable: usize,
    pub hard: usize,
    pub soft: usize,
    pub complaints: usize,
    pub duplicates: usize,
    pub delayed: usize,
    pub ignored: usize,
    pub not_ours: usize,
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} message(s): recorded {} hard, {} soft, {} complaint(s); {} already recorded, {} delay warning(s), \
             {} not ours, {} not bounces, {} unreadable",
            self.messages,
            self.hard,
            self.soft,
            self.complaints,
            self.duplicates,
            self.delayed,
            self.not_ours,
            self.ignored,
            self.unreadable
        )
    }
}

/// Records reports into the state database; call [`Importer::finish`] at the end.
pub struct Importer<'a> {
    conn: &'a Connection,
    directory: Directory,
    thresholds: Thresholds,
    /// Addresses with a new record: the ones whose thresholds may be crossed.
    touched: Vec<String>,
    pub totals: Totals,
}

impl<'a> Importer<'a> {
    pub fn new(conn: &'a Connection, directory: Directory, thresholds: Thresholds) -> Self {
        Importer {
            conn,
            directory,
            thresholds,
            touched: Vec::new(),
            totals: Totals::default(),
        }
    }

    /// Notes a message that could not be read.
    pub fn unreadable(&mut self) {
        self.totals.messages += 1;
        self.totals.unreadable += 1;
    }

    /// Reads, matches and records one message. Errors are database errors:
    /// the message may be read again later (imports are idempotent).
    pub fn handle(&mut self, source: &str, raw: &[u8], report: &Report) -> anyhow::Result<Handled> {
        self.totals.messages += 1;
        let key = report_key(report, raw);
        let mut fates = Vec::new();
        for entry in &report.entries {
            let fate = self.entry(source, &key, raw, report, entry)?;
            match &fate {
                Fate::Recorded { class, .. } => match class {
                    Class::Hard => self.totals.hard += 1,
                    Class::Soft => self.totals.soft += 1,
                    Class::Complaint => self.totals.complaints += 1,
                },
                Fate::Duplicate => self.totals.duplicates += 1,
                Fate::Delayed => self.totals.delayed += 1,
                Fate::Ignored => self.totals.ignored += 1,
                Fate::NotOurs(_) => self.totals.not_ours += 1,
            }
            fates.push(fate);
        }
        Ok(Handled { fates })
    }

    fn entry(&mut self, source: &str, key: &str, raw: &[u8], report: &Report, e: &Entry) -> anyhow::Result<Fate> {
        let Some(class) = Class::of(e.class) else {
            return Ok(Fate::Ignored);
        };
        let found = match self.directory.find(report, e, raw) {
            Ok(m) => m,
            Err(why) => return Ok(Fate::NotOurs(why)),
        };
        if e.action.as_deref() == Some("delayed") {
            return Ok(Fate::Delayed);
        }
        let record = Record {
            report: key.to_string(),
            email: found.email.clone(),
            issue_id: found.issue.clone(),
            class,
            reason: e.reason.as_str().to_string(),
            status: e.status.clone(),
            diagnostic: e.diagnostic.clone(),
            feedback_type: e.feedback_type.clone(),
            matched_by: found.by,
            source: source.to_string(),
        };
        if !records::record(self.conn, &record)? {
            return Ok(Fate::Duplicate);
        }
        if !self.touched.contains(&found.email) {
            self.touched.push(found.email.clone());
        }
        Ok(Fate::Recorded {
            email: found.email,
            class,
            issue: found.issue,
            by: found.by,
        })
    }

    /// Applies the thresholds to every address that got a new record.
    pub fn finish(&mut self) -> anyhow::Result<Vec<Suppressed>> {
        let touched = std::mem::take(&mut self.touched);
        records::apply_thresholds(self.conn, &self.thresholds, &touched)
    }
}

/// What makes a report count once: its own Message-ID, or a hash of its
/// bytes (line endings made uniform, so an mbox copy and an IMAP copy of one
/// report agree).
pub fn report_key(report: &Report, raw: &[u8]) -> String {
    if let Some(id) = &report.report_id {
        return id.clone();
    }
    let mut h = Sha256::new();
    for line in raw.split(|&b| b == b'\n') {
        h.update(line.strip_suffix(b"\r").unwrap_or(line));
        h.update(b"\n");
    }
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// One line about an entry that was recorded, for `--verbose` and tests:
/// `recorded hard reader@example.org issue=2026-w47 (verp)`.
pub fn describe(f: &Fate) -> Option<String> {
    match f {
        Fate::Recorded {
            email,
            class,
            issue,
            by,
        } => Some(format!(
            "recorded {} {email} issue={} ({by})",
            class.as_str(),
            issue.as_deref().unwrap_or("-")
        )),
        _ => None,
    }
}

/// Hard bounces over this share of an issue's sent messages make `send`
/// warn before the next live run (Amazon SES reviews accounts at 5%).
pub const HARD_RATE_LIMIT: f64 = 0.02;
/// Complaints over this share make it warn too (Gmail and Yahoo require
/// bulk senders to stay under 0.3%).
pub const COMPLAINT_RATE_LIMIT: f64 = 0.001;

/// `part / sent`, 0 when nothing was sent.
pub fn rate(part: u64, sent: u64) -> f64 {
    if sent == 0 {
        0.0
    } else {
        part as f64 / sent as f64
    }
}

/// The warnings about an issue's bounce and complaint rates, if any.
pub fn rate_warnings(issue: &str, sent: u64, c: &records::Counts) -> Vec<String> {
    let mut out = Vec::new();
    let hard = rate(c.hard, sent);
    if hard > HARD_RATE_LIMIT {
        out.push(format!(
            "the previous issue {issue} hard-bounced for {} of {sent} recipients ({:.1}%, over {:.0}%): \
             clean the list before sending more (see `newsletter status` and `newsletter suppressions`)",
            c.hard,
            hard * 100.0,
            HARD_RATE_LIMIT * 100.0
        ));
    }
    let complaints = rate(c.complaints, sent);
    if complaints > COMPLAINT_RATE_LIMIT {
        out.push(format!(
            "the previous issue {issue} drew {} complaint(s) from {sent} recipients ({:.2}%, over {:.1}%): \
             mailbox providers throttle or block senders above 0.3%",
            c.complaints,
            complaints * 100.0,
            COMPLAINT_RATE_LIMIT * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_warn_over_their_limits() {
        let c = |hard, complaints| records::Counts {
            hard,
            soft: 0,
            complaints,
        };
        assert!(
            rate_warnings("w1", 1000, &c(20, 1)).is_empty(),
            "2% and 0.1% are the limits themselves"
        );
        let w = rate_warnings("w1", 1000, &c(21, 2));
        assert_eq!(w.len(), 2);
        assert!(
            w[0].starts_with("the previous issue w1 hard-bounced for 21 of 1000 recipients (2.1%, over 2%)"),
            "{}",
            w[0]
        );
        assert!(
            w[1].starts_with("the previous issue w1 drew 2 complaint(s) from 1000 recipients (0.20%, over 0.1%)"),
            "{}",
            w[1]
        );
        assert!(rate_warnings("w1", 0, &c(0, 0)).is_empty());
    }
}
