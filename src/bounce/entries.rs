//! One entry per affected recipient: what a DSN's fields, a text bounce's
//! blocks and the human-readable report say about it, handed to the rules.

use super::mime::Mail;
use super::model::{Entry, Original};
use super::rules::{self, Facts};
use super::{address, dsn, smtp, text};

/// The longest diagnostic kept in an entry, in characters.
const MAX_DIAGNOSTIC: usize = 1000;

/// What the classification of each recipient may look at.
pub(super) struct Context {
    /// Our addresses: the returned message's sender and where the bounce
    /// was sent. Never a failed recipient; a diagnostic naming them is
    /// about the sender.
    pub senders: Vec<String>,
    /// The human-readable report, without the returned message.
    pub report: String,
}

pub(super) fn dsn_entries(recipients: &[dsn::DsnRecipient], ctx: &Context) -> Vec<Entry> {
    let known: Vec<String> = recipients.iter().filter_map(|r| r.recipient()).collect();
    let blocks: std::collections::HashMap<String, String> = text::recipient_blocks(&ctx.report, &known, &[])
        .into_iter()
        .map(|b| (b.recipient, b.text))
        .collect();
    let single = known.len() == 1;
    recipients
        .iter()
        .filter_map(|r| {
            let rcpt = r.recipient()?;
            let block = blocks.get(&rcpt).map(String::as_str);
            let context = if single {
                ctx.report.as_str()
            } else {
                block.unwrap_or("")
            };
            let diag = r.diagnostic.clone().unwrap_or_default();
            let primary = format!("{diag}\n{}", r.status_comment.as_deref().unwrap_or(""));
            let shown = if diag.trim().is_empty() {
                block.unwrap_or("")
            } else {
                &diag
            };
            let about = Said {
                status_field: r.status.as_deref(),
                action: r.action(),
                primary: &primary,
                context,
                own: block.unwrap_or(""),
                shown,
            };
            let mut e = entry(rcpt, &about, ctx);
            e.original_recipient = r.original();
            Some(e)
        })
        .collect()
}

pub(super) fn text_entries(mail: &Mail, ctx: &Context, original: &Original) -> Vec<Entry> {
    let failed: Vec<String> = mail
        .headers
        .iter()
        .filter(|(n, _)| n == "x-failed-recipients")
        .flat_map(|(_, v)| address::find_all(v))
        .map(|f| f.address)
        .collect();
    let mut blocks = text::recipient_blocks(&ctx.report, &failed, &ctx.senders);
    if blocks.is_empty() {
        // A bounce that names no recipient in its text: the failed-recipients
        // header, or the returned message's recipient.
        let fallback = failed.first().or_else(|| original.recipients.first());
        blocks = fallback
            .map(|r| text::Block {
                recipient: r.clone(),
                text: ctx.report.clone(),
            })
            .into_iter()
            .collect();
    }
    let single = blocks.len() <= 1;
    let action = if says_delayed(&ctx.report) { "delayed" } else { "failed" };
    // Text before the first recipient is about all of them ("Could not be
    // delivered because of …  The following recipients were affected: …").
    let preamble = blocks
        .first()
        .and_then(|b| ctx.report.find(b.text.lines().next().unwrap_or_default()))
        .map_or("", |at| &ctx.report[..at]);
    let said = |primary: &'_ str| -> (String, String) {
        let context = if single {
            ctx.report.clone()
        } else {
            format!("{primary}\n{preamble}")
        };
        (primary.to_string(), context)
    };
    if blocks.is_empty() {
        let (primary, context) = said(&ctx.report);
        let about = Said {
            status_field: None,
            action: Some(action),
            primary: &primary,
            context: &context,
            own: &primary,
            shown: &primary,
        };
        let mut row = entry(String::new(), &about, ctx);
        row.recipient = None;
        return vec![row];
    }
    blocks
        .iter()
        .map(|b| {
            let (primary, context) = said(&b.text);
            let about = Said {
                status_field: None,
                action: Some(action),
                primary: &primary,
                context: &context,
                own: &primary,
                shown: &primary,
            };
            let mut e = entry(b.recipient.clone(), &about, ctx);
            e.original_recipient = b.generated_from();
            e
        })
        .collect()
}

/// A warning that delivery is late, not a failure: the message is still
/// queued and may yet arrive.
fn says_delayed(report: &str) -> bool {
    const PHRASES: &[&str] = &[
        "has been delayed",
        "have been delayed",
        "is delayed",
        "not yet been delivered",
        "delivery attempts will continue",
        "will be retried",
        "will retry",
        "warning message only",
        "still trying",
        "do not need to resend",
        "don't need to resend",
    ];
    let lower = report.to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p))
}

/// What a report says about one recipient.
struct Said<'a> {
    /// DSN `Status:` field.
    status_field: Option<&'a str>,
    /// DSN `Action:` field.
    action: Option<&'a str>,
    /// The server's words about this recipient (the DSN diagnostic, the
    /// recipient's block of a text bounce).
    primary: &'a str,
    /// The rest of the report that may be about it.
    context: &'a str,
    /// The lines of the report about this recipient only (where the SMTP
    /// stage it failed at is told).
    own: &'a str,
    /// What to show as the diagnostic.
    shown: &'a str,
}

/// One entry from what is known about one recipient.
fn entry(rcpt: String, said: &Said<'_>, ctx: &Context) -> Entry {
    // The codes are in the server's words. A DSN without a diagnostic has
    // them only in its human-readable part, which may also quote others'
    // transcripts: there they only fill in a missing or bare-class field.
    let vague = |s: Option<&str>| s.is_none_or(|f| f.trim().ends_with(".0.0"));
    let mut status = smtp::pick_status(said.status_field, said.primary, None);
    if vague(said.status_field) && vague(status.as_deref()) {
        status = smtp::pick_status(said.status_field, said.context, None).or(status);
    }
    let reply = status
        .as_deref()
        .and_then(|s| smtp::reply_before(said.primary, s).or_else(|| smtp::reply_before(said.context, s)))
        .or_else(|| smtp::find_reply_code(said.primary))
        .or_else(|| smtp::find_reply_code(said.context));
    let lower = said.primary.to_lowercase();
    // The server's own words start at its reply code.
    let said_at = reply
        .and_then(|c| lower.find(&c.to_string()))
        .or_else(|| status.as_deref().and_then(|s| lower.find(s)))
        .unwrap_or(0);
    let facts = Facts {
        status: status.as_deref(),
        reply_code: reply,
        command: smtp::find_command(said.primary).or_else(|| smtp::find_command(said.own)),
        action: said.action,
        text: said.primary,
        context: said.context,
        about_sender: about_sender(&lower[said_at..], &rcpt, &ctx.senders),
    };
    let verdict = rules::classify(&facts);
    Entry {
        recipient: (!rcpt.is_empty()).then_some(rcpt),
        original_recipient: None,
        action: said.action.map(str::to_string),
        status,
        status_inferred: false,
        reply_code: reply,
        diagnostic: text::squash(said.shown).chars().take(MAX_DIAGNOSTIC).collect(),
        class: verdict.class,
        reason: verdict.reason,
        feedback_type: None,
    }
}

/// Does the text name one of our sender addresses or domains, and neither
/// the recipient nor its domain?
fn about_sender(lower: &str, rcpt: &str, senders: &[String]) -> bool {
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let rdomain = domain(rcpt);
    if rcpt.is_empty() || lower.contains(rcpt) || (!rdomain.is_empty() && lower.contains(&rdomain)) {
        return false;
    }
    senders.iter().any(|s| {
        let d = domain(s);
        d != rdomain && (lower.contains(s.as_str()) || (!d.is_empty() && lower.contains(&d)))
    })
}
