//! Bounces and complaints recorded against an issue and a subscriber, the
//! thresholds that turn them into suppressions, and the counts `status`
//! shows.
//!
//! Rows are keyed by (report, address): the same report imported twice, or
//! fetched again, counts once. `report` is the report's own Message-ID, a
//! hash of its bytes when it has none, or `smtp:<issue>` for a refusal met
//! while sending. Delay warnings (`Action: delayed`) are never recorded:
//! the message is still queued, and if it fails for good its final report
//! is the one that counts.
//!
//! This table joins the delivery journal only through [`recent_issues`]
//! (the `issue_runs` ids and start times), so a change to the journal's
//! per-recipient layout does not touch it.

use super::suppression::{self, Reason as Suppression};
use crate::config::bounces::Thresholds;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// Migration 4 (appended to `state::MIGRATIONS`).
pub const MIGRATION: &str = "CREATE TABLE bounces (
        report        TEXT NOT NULL,
        email         TEXT NOT NULL,
        issue_id      TEXT,
        class         TEXT NOT NULL CHECK (class IN ('hard', 'soft', 'complaint')),
        reason        TEXT NOT NULL,
        status        TEXT,
        diagnostic    TEXT NOT NULL,
        feedback_type TEXT,
        matched_by    TEXT NOT NULL,
        source        TEXT NOT NULL,
        at            TEXT NOT NULL,
        PRIMARY KEY (report, email)
    ) WITHOUT ROWID;
    CREATE INDEX bounces_by_email ON bounces (email);
    CREATE INDEX bounces_by_issue ON bounces (issue_id);
    CREATE TABLE imap_marks (
        mailbox     TEXT PRIMARY KEY NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid    INTEGER NOT NULL
    ) WITHOUT ROWID;";

/// The classes that are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Hard,
    Soft,
    Complaint,
}

impl Class {
    /// The name stored and shown: the reading's own (`hard`, `soft`, `complaint`).
    pub fn as_str(self) -> &'static str {
        let reading = match self {
            Class::Hard => crate::bounce::Class::Hard,
            Class::Soft => crate::bounce::Class::Soft,
            Class::Complaint => crate::bounce::Class::Complaint,
        };
        reading.as_str()
    }

    /// The recorded class of a reading; `ignore` is never recorded.
    pub fn of(c: crate::bounce::Class) -> Option<Class> {
        match c {
            crate::bounce::Class::Hard => Some(Class::Hard),
            crate::bounce::Class::Soft => Some(Class::Soft),
            crate::bounce::Class::Complaint => Some(Class::Complaint),
            crate::bounce::Class::Ignore => None,
        }
    }
}

/// One bounce or complaint about one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub report: String,
    /// The subscriber's address (stored as its key).
    pub email: String,
    pub issue_id: Option<String>,
    pub class: Class,
    pub reason: String,
    pub status: Option<String>,
    pub diagnostic: String,
    pub feedback_type: Option<String>,
    /// How the report was tied to the subscriber: `verp`, `message-id`,
    /// `recipient` or `smtp`.
    pub matched_by: &'static str,
    /// Where it came from: a file, `imap:<mailbox>`, `smtp`.
    pub source: String,
}

/// Records `r`; false when this report was already recorded for this address.
pub fn record(conn: &Connection, r: &Record) -> anyhow::Result<bool> {
    let n = conn.execute(
        "INSERT INTO bounces (report, email, issue_id, class, reason, status, diagnostic, feedback_type,
                              matched_by, source, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (report, email) DO NOTHING",
        params![
            r.report,
            crate::address::key(&r.email),
            r.issue_id,
            r.class.as_str(),
            r.reason,
            r.status,
            r.diagnostic,
            r.feedback_type,
            r.matched_by,
            r.source,
            super::journal::now(),
        ],
    )?;
    Ok(n == 1)
}

/// Records a refusal met while sending `issue_id` (one per issue and
/// address, however often it was tried).
pub fn record_refusal(
    conn: &Connection,
    issue_id: &str,
    email: &str,
    class: Class,
    reason: String,
    status: Option<String>,
    diagnostic: String,
) -> anyhow::Result<bool> {
    record(
        conn,
        &Record {
            report: format!("smtp:{issue_id}"),
            email: email.to_string(),
            issue_id: Some(issue_id.to_string()),
            class,
            reason,
            status,
            diagnostic,
            feedback_type: None,
            matched_by: "smtp",
            source: "smtp".into(),
        },
    )
}

/// The last `n` issues the journal has runs for, newest first, with the
/// time their first run started. The one place this table meets the journal.
pub fn recent_issues(conn: &Connection, n: u32) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare("SELECT issue_id, started_at FROM issue_runs ORDER BY started_at DESC, issue_id DESC LIMIT ?1")?;
    let rows = stmt.query_map([n], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An address the thresholds suppressed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub email: String,
    pub reason: Suppression,
    /// The words stored as the suppression's source.
    pub why: String,
}

/// Suppresses each of `emails` (address keys) that its recorded bounces
/// and complaints now put over a threshold and that is not suppressed yet.
pub fn apply_thresholds(conn: &Connection, th: &Thresholds, emails: &[String]) -> anyhow::Result<Vec<Suppressed>> {
    let window = recent_issues(conn, th.soft_window)?;
    let mut out = Vec::new();
    for email in emails {
        let key = crate::address::key(email);
        if suppression::is_suppressed(conn, &key)? {
            continue;
        }
        if let Some((reason, why)) = verdict(conn, th, &window, &key)? {
            if suppression::suppress(conn, &key, reason, &why)? {
                out.push(Suppressed {
                    email: key,
                    reason,
                    why,
                });
            }
        }
    }
    Ok(out)
}

/// Every recorded address that is not suppressed, for re-checking them all
/// (after the thresholds changed, or when a run stopped before checking).
pub fn unsuppressed_addresses(conn: &Connection) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT email FROM bounces WHERE email NOT IN (SELECT email FROM suppression) ORDER BY email",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether one address is over a threshold: complaints first (a reader who
/// said "spam" must never get another issue), then hard, then soft.
fn verdict(
    conn: &Connection,
    th: &Thresholds,
    window: &[(String, String)],
    key: &str,
) -> anyhow::Result<Option<(Suppression, String)>> {
    let count = |class: Class| -> rusqlite::Result<u32> {
        conn.query_row(
            "SELECT count(*) FROM bounces WHERE email = ?1 AND class = ?2",
            params![key, class.as_str()],
            |r| r.get(0),
        )
    };
    let (complaints, hard) = (count(Class::Complaint)?, count(Class::Hard)?);
    if complaints >= th.complaint {
        let why = format!("{complaints} complaint(s){}", last(conn, key, Class::Complaint)?);
        return Ok(Some((Suppression::Complained, why)));
    }
    if hard >= th.hard {
        let why = format!("{hard} hard bounce(s){}", last(conn, key, Class::Hard)?);
        return Ok(Some((Suppression::Bounced, why)));
    }
    let soft = soft_in_window(conn, window, key)?;
    if soft >= th.soft {
        let why = format!(
            "soft bounces in {soft} of the last {} issue(s){}",
            window.len(),
            last(conn, key, Class::Soft)?
        );
        return Ok(Some((Suppression::Bounced, why)));
    }
    Ok(None)
}

/// Soft bounces in the window: one per issue of the window that had any,
/// plus one per report not tied to an issue that came after the window's
/// oldest issue started.
fn soft_in_window(conn: &Connection, window: &[(String, String)], key: &str) -> anyhow::Result<u32> {
    let Some((_, oldest_start)) = window.last() else {
        return Ok(0);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT issue_id, count(*) FROM bounces WHERE email = ?1 AND class = 'soft' AND (issue_id IS NOT NULL OR at >= ?2)
         GROUP BY issue_id",
    )?;
    let rows = stmt.query_map(params![key, oldest_start], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, u32>(1)?))
    })?;
    let mut n = 0;
    for row in rows {
        match row? {
            (Some(issue), _) if window.iter().any(|(id, _)| *id == issue) => n += 1,
            (Some(_), _) => {}
            (None, reports) => n += reports,
        }
    }
    Ok(n)
}

/// `: userunknown 5.1.1, issue 2026-w47` of the latest row of a class.
fn last(conn: &Connection, key: &str, class: Class) -> anyhow::Result<String> {
    type Row = (String, Option<String>, Option<String>, Option<String>);
    let row: Option<Row> = conn
        .query_row(
            "SELECT reason, status, issue_id, feedback_type FROM bounces WHERE email = ?1 AND class = ?2
             ORDER BY at DESC LIMIT 1",
            params![key, class.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((reason, status, issue, feedback)) = row else {
        return Ok(String::new());
    };
    let what = feedback.unwrap_or(reason);
    let mut s = format!(", last: {what}");
    if let Some(st) = status {
        s.push_str(&format!(" {st}"));
    }
    if let Some(i) = issue {
        s.push_str(&format!(", issue {i}"));
    }
    Ok(s)
}

/// Recipients of one issue with a bounce or complaint of each class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub hard: u64,
    pub soft: u64,
    pub complaints: u64,
}

/// Per issue id (None: reports not tied to an issue), how many distinct
/// recipients had a hard bounce, a soft bounce, a complaint.
pub fn counts_by_issue(conn: &Connection) -> anyhow::Result<HashMap<Option<String>, Counts>> {
    let mut stmt =
        conn.prepare("SELECT issue_id, class, count(DISTINCT email) FROM bounces GROUP BY issue_id, class")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out: HashMap<Option<String>, Counts> = HashMap::new();
    for row in rows {
        let (issue, class, n) = row?;
        let c = out.entry(issue).or_default();
        let n = u64::try_from(n).unwrap_or(0);
        match class.as_str() {
            "hard" => c.hard = n,
            "soft" => c.soft = n,
            _ => c.complaints = n,
        }
    }
    Ok(out)
}

/// Where `bounces fetch` stopped in one mailbox: its UIDVALIDITY and the
/// highest UID handled.
pub fn imap_mark(conn: &Connection, mailbox: &str) -> anyhow::Result<Option<(u32, u32)>> {
    Ok(conn
        .query_row(
            "SELECT uidvalidity, last_uid FROM imap_marks WHERE mailbox = ?1",
            [mailbox],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn set_imap_mark(conn: &Connection, mailbox: &str, uidvalidity: u32, last_uid: u32) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO imap_marks (mailbox, uidvalidity, last_uid) VALUES (?1, ?2, ?3)
         ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = ?2, last_uid = ?3",
        params![mailbox, uidvalidity, last_uid],
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "bounces_tests.rs"]
mod tests;
