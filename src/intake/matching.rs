//! Which subscriber and which issue a bounce or complaint is about.
//!
//! In order of trust:
//! 1. VERP: the report was sent to `bounces+TOKEN@…`, and the token's keyed
//!    tags name a journalled issue and an address on the list.
//! 2. Our Message-ID: the returned message's `<issue.hash@domain>`, where
//!    the hash is the one we give that issue and one address on the list
//!    (checked against the addresses the report names, else looked up over
//!    the list: a complaint that hides the reader still names its message).
//! 3. The recipient address alone, only when the report carries neither: an
//!    address on the list, issue unknown.
//!
//! A report about a message that is not ours (a Message-ID of another
//! shape or hash, a token nobody on the list has) is never matched by its
//! address: that would suppress a subscriber for mail we did not send.

use crate::bounce::{issue_from_message_id, Entry, Report};
use crate::verp::{Template, VerpKey};
use std::collections::{HashMap, HashSet};

/// The subscriber and issue of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// Address key of the subscriber.
    pub email: String,
    pub issue: Option<String>,
    /// `verp`, `message-id` or `recipient`.
    pub by: &'static str,
}

/// What can be known about who we mail: the list and the journalled issues,
/// with look-up tables built on first use.
pub struct Directory {
    /// Address keys of everyone on the list (files and sign-ups, any status).
    keys: HashSet<String>,
    /// Journalled issue ids.
    issues: Vec<String>,
    verp: Option<(Template, VerpKey)>,
    /// issue → recipient hash → address key.
    by_hash: HashMap<String, HashMap<String, String>>,
    /// VERP recipient tag → address key.
    by_tag: Option<HashMap<[u8; 10], String>>,
}

impl Directory {
    pub fn new(keys: HashSet<String>, issues: Vec<String>, verp: Option<(Template, VerpKey)>) -> Directory {
        Directory {
            keys,
            issues,
            verp,
            by_hash: HashMap::new(),
            by_tag: None,
        }
    }

    /// The subscriber and issue of `entry`, or why there are none.
    pub fn find(&mut self, report: &Report, entry: &Entry, raw: &[u8]) -> Result<Matched, String> {
        if let Some(found) = self.by_verp(raw)? {
            return Ok(found);
        }
        if let Some(id) = report.original.message_id.as_deref() {
            return self.by_message_id(report, entry, id);
        }
        let named = entry.recipient.iter().chain(&entry.original_recipient);
        let on_list: Vec<&String> = named.filter(|a| self.keys.contains(a.as_str())).collect();
        match (on_list.first(), &entry.recipient) {
            (Some(a), _) => Ok(Matched {
                email: (*a).clone(),
                issue: None,
                by: "recipient",
            }),
            (None, Some(r)) => Err(format!(
                "{r} is not on the list, and the report has neither a VERP token nor the returned message's Message-ID"
            )),
            (None, None) => Err("the report names no recipient and carries no Message-ID or VERP token".into()),
        }
    }

    fn by_verp(&mut self, raw: &[u8]) -> Result<Option<Matched>, String> {
        let Some((template, key)) = &self.verp else {
            return Ok(None);
        };
        let tokens = template.find_tokens(&String::from_utf8_lossy(header_block(raw)));
        let tokens = if tokens.is_empty() {
            // Not in the report's header (a forward, a relay that rewrote
            // To): the returned message's Return-Path may still carry it.
            let cap = &raw[..raw.len().min(256 * 1024)];
            template.find_tokens(&String::from_utf8_lossy(cap))
        } else {
            tokens
        };
        if tokens.is_empty() {
            return Ok(None);
        }
        let key = key.clone();
        let by_tag = self
            .by_tag
            .get_or_insert_with(|| self.keys.iter().map(|k| (key.rcpt_tag(k), k.clone())).collect());
        for token in &tokens {
            let Some(t) = crate::verp::decode(token) else {
                continue;
            };
            if let Some(email) = by_tag.get(&t.rcpt) {
                let issue = self.issues.iter().find(|i| key.issue_tag(i) == t.issue).cloned();
                return Ok(Some(Matched {
                    email: email.clone(),
                    issue,
                    by: "verp",
                }));
            }
        }
        Err(format!(
            "the VERP token {} names nobody on the list (not ours, forged, or the subscriber was removed)",
            tokens[0]
        ))
    }

    fn by_message_id(&mut self, report: &Report, entry: &Entry, id: &str) -> Result<Matched, String> {
        let not_ours = || format!("the returned message {id} is not one we sent to anyone on the list");
        let issue = issue_from_message_id(id).ok_or_else(not_ours)?.to_string();
        let hash = id
            .rsplit_once('@')
            .and_then(|(left, _)| left.rsplit_once('.'))
            .map(|(_, h)| h.to_string())
            .ok_or_else(not_ours)?;
        let named = entry
            .recipient
            .iter()
            .chain(&entry.original_recipient)
            .chain(&report.original.recipients);
        let mut email = None;
        for a in named {
            if self.keys.contains(a.as_str()) && crate::message::recipient_hash(&issue, a) == hash {
                email = Some(a.clone());
                break;
            }
        }
        if email.is_none() {
            let keys = &self.keys;
            let table = self.by_hash.entry(issue.clone()).or_insert_with(|| {
                keys.iter()
                    .map(|k| (crate::message::recipient_hash(&issue, k), k.clone()))
                    .collect()
            });
            email = table.get(&hash).cloned();
        }
        let email = email.ok_or_else(not_ours)?;
        Ok(Matched {
            email,
            issue: Some(issue),
            by: "message-id",
        })
    }
}

/// The report's own header fields (up to the first empty line).
fn header_block(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| p + 1)
        .or_else(|| raw.windows(4).position(|w| w == b"\r\n\r\n"))
        .unwrap_or(raw.len());
    &raw[..end.min(raw.len())]
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
