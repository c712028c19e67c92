//! Reading one message: decide what it is (complaint, DSN, text bounce,
//! automatic reply, none of these) and build its [`Report`].

use super::detect::{self, AutoReply, Bounce};
use super::mime::{self, Fields, Mail};
use super::model::{Class, Entry, Kind, Original, Reason, Report};
use super::rules::{self, Facts};
use super::{address, arf, dsn, smtp, text};
use std::fmt;

/// The longest diagnostic kept in an entry, in characters.
const MAX_DIAGNOSTIC: usize = 1000;

/// How much human-readable text is read, in bytes. A bounce says what it
/// has to say in its first few kilobytes; the rest is a returned message,
/// and reading it all would make a huge message slow to classify.
const MAX_REPORT_TEXT: usize = 256 * 1024;

/// The longest prefix of `s` within `max` bytes, on a character boundary.
fn cap(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Why a message could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadMessage {
    Empty,
    Binary,
    NoHeaders,
    Unreadable,
    Truncated,
}

impl fmt::Display for BadMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadMessage::Empty => "empty message",
            BadMessage::Binary => "not an email message: binary data in the header",
            BadMessage::NoHeaders => "not an email message: it does not start with header fields",
            BadMessage::Unreadable => "the MIME structure could not be read",
            BadMessage::Truncated => {
                "truncated MIME: the message ends before its report could be read"
            }
        })
    }
}

impl std::error::Error for BadMessage {}

/// A message must start with a header field and its header must be text.
fn check_shape(raw: &[u8]) -> Result<(), BadMessage> {
    let start = raw.iter().position(|b| !b.is_ascii_whitespace()).ok_or(BadMessage::Empty)?;
    let head_end = find(&raw[start..], b"\n\n")
        .or_else(|| find(&raw[start..], b"\r\n\r\n"))
        .map_or(raw.len(), |e| start + e);
    let head = &raw[start..head_end.min(start + 64 * 1024)];
    if head.iter().any(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f) {
        return Err(BadMessage::Binary);
    }
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let colon = first.iter().position(|&b| b == b':').ok_or(BadMessage::NoHeaders)?;
    let name_ok = colon > 0 && first[..colon].iter().all(|&b| (0x21..=0x7e).contains(&b));
    if name_ok {
        Ok(())
    } else {
        Err(BadMessage::NoHeaders)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one message (its raw bytes, LF or CRLF).
pub fn parse(raw: &[u8]) -> Result<Report, BadMessage> {
    check_shape(raw)?;
    // mail-parser promises not to panic; a bounce reader must not die on one
    // message either way.
    let mail = std::panic::catch_unwind(|| mime::read(raw))
        .map_err(|_| BadMessage::Unreadable)?
        .ok_or(BadMessage::Unreadable)?;
    let joined = mail.texts.join("\n");
    let (report_text, returned_text) = text::split_returned(cap(&joined, MAX_REPORT_TEXT));
    let returned = mail
        .returned
        .clone()
        .or_else(|| returned_text.map(|t| mime::header_fields(skip_to_headers(t).as_bytes())))
        .unwrap_or_default();
    let ctx = Context {
        senders: senders(&mail, &returned),
        report: report_text.to_string(),
    };
    let original = original(&returned);
    let mut report = build(&mail, &ctx, original)?;
    if mail.report_cut {
        report
            .warnings
            .push("truncated MIME: the message ends inside its report part; the last entry may be incomplete".into());
    }
    Ok(report)
}

fn build(mail: &Mail, ctx: &Context, original: Original) -> Result<Report, BadMessage> {
    let make = |kind, entries| Report {
        kind,
        entries,
        original: original.clone(),
        warnings: Vec::new(),
    };
    if let Some(fb) = &mail.feedback {
        return Ok(make(Kind::Feedback, arf::entries(fb, &original)));
    }
    let inline = if mail.dsn.is_empty() { dsn::inline(&ctx.report) } else { None };
    let dsn_text: Vec<&str> = mail.dsn.iter().map(|d| cap(d, MAX_REPORT_TEXT)).chain(inline).collect();
    let recipients: Vec<dsn::DsnRecipient> = dsn_text.iter().flat_map(|t| dsn::parse(t)).collect();
    if !recipients.is_empty() {
        return Ok(make(Kind::Dsn, dsn_entries(&recipients, ctx)));
    }
    let auto = detect::auto_reply(mail);
    let bounce = detect::bounce(mail, &ctx.report);
    let is_text_bounce = match bounce {
        Bounce::Sure => true,
        Bounce::Words => auto != AutoReply::Headers,
        Bounce::No => false,
    };
    // A report cut before its machine-readable part, whose text names no
    // recipient either, cannot be read; it is not "not a bounce".
    let cut_short = mail.unclosed && is_report(mail);
    if is_text_bounce {
        let entries = text_entries(mail, ctx, &original);
        if cut_short && entries.iter().all(|e| e.recipient.is_none()) {
            return Err(BadMessage::Truncated);
        }
        return Ok(make(Kind::Text, entries));
    }
    if auto == AutoReply::Headers {
        return Ok(make(Kind::AutoReply, vec![arf::vacation(mail)]));
    }
    if cut_short {
        return Err(BadMessage::Truncated);
    }
    if auto == AutoReply::Subject {
        return Ok(make(Kind::AutoReply, vec![arf::vacation(mail)]));
    }
    Ok(make(Kind::NotABounce, vec![ignore_row(Reason::NotABounce)]))
}

fn is_report(mail: &Mail) -> bool {
    mail.header("content-type").is_some_and(|ct| ct.to_ascii_lowercase().contains("multipart/report"))
}

/// What the classification of each recipient may look at.
struct Context {
    /// Our addresses: the returned message's sender and where the bounce
    /// was sent. Never a failed recipient; a diagnostic naming them is
    /// about the sender.
    senders: Vec<String>,
    /// The human-readable report, without the returned message.
    report: String,
}

/// The returned text after a marker may start with blank lines or prose.
fn skip_to_headers(t: &str) -> &str {
    let mut offset = 0;
    for line in t.split_inclusive('\n') {
        let l = line.trim_end();
        let is_field = l.find(':').is_some_and(|c| c > 0 && !l[..c].contains(' ') && l.is_char_boundary(c));
        if is_field {
            return &t[offset..];
        }
        offset += line.len();
    }
    ""
}

fn addresses(fields: &Fields, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in fields.iter().filter(|(n, _)| n == name).flat_map(|(_, v)| address::find_all(v)) {
        if !out.contains(&f.address) {
            out.push(f.address);
        }
    }
    out
}

fn senders(mail: &Mail, returned: &Fields) -> Vec<String> {
    let mut out: Vec<String> = ["from", "return-path", "sender"]
        .iter()
        .flat_map(|h| addresses(returned, h))
        .chain(addresses(&mail.headers, "to"))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn original(returned: &Fields) -> Original {
    let message_id = mime::field(returned, "message-id").and_then(|v| {
        let v = v.trim();
        let inner = v.trim_start_matches('<').split('>').next().unwrap_or("").trim();
        (!inner.is_empty() && !inner.contains(char::is_whitespace)).then(|| format!("<{inner}>"))
    });
    Original {
        message_id,
        recipients: addresses(returned, "to"),
    }
}

fn ignore_row(reason: Reason) -> Entry {
    Entry {
        recipient: None,
        status: None,
        reply_code: None,
        diagnostic: String::new(),
        class: Class::Ignore,
        reason,
        feedback_type: None,
    }
}

fn dsn_entries(recipients: &[dsn::DsnRecipient], ctx: &Context) -> Vec<Entry> {
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
            let context = if single { ctx.report.as_str() } else { block.unwrap_or("") };
            let diag = r.diagnostic.clone().unwrap_or_default();
            let primary = format!("{diag}\n{}", r.status_comment.as_deref().unwrap_or(""));
            let shown = if diag.trim().is_empty() { block.unwrap_or("") } else { &diag };
            let about = Said {
                status_field: r.status.as_deref(),
                action: r.action.as_deref(),
                primary: &primary,
                context,
                own: block.unwrap_or(""),
                shown,
            };
            Some(entry(rcpt, &about, ctx))
        })
        .collect()
}

fn text_entries(mail: &Mail, ctx: &Context, original: &Original) -> Vec<Entry> {
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
    // Text before the first recipient is about all of them ("Could not be
    // delivered because of …  The following recipients were affected: …").
    let preamble = blocks
        .first()
        .and_then(|b| ctx.report.find(b.text.lines().next().unwrap_or_default()))
        .map_or("", |at| &ctx.report[..at]);
    let said = |primary: &'_ str| -> (String, String) {
        let context = if single { ctx.report.clone() } else { format!("{primary}\n{preamble}") };
        (primary.to_string(), context)
    };
    if blocks.is_empty() {
        let (primary, context) = said(&ctx.report);
        let about = Said {
            status_field: None,
            action: None,
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
                action: None,
                primary: &primary,
                context: &context,
                own: &primary,
                shown: &primary,
            };
            entry(b.recipient.clone(), &about, ctx)
        })
        .collect()
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
        status,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_that_are_not_mail() {
        assert_eq!(check_shape(b""), Err(BadMessage::Empty));
        assert_eq!(check_shape(b" \n\n"), Err(BadMessage::Empty));
        assert_eq!(check_shape(b"\x89PNG\r\n\x1a\n\0\0"), Err(BadMessage::Binary));
        assert_eq!(check_shape(b"hello world\n\nbody"), Err(BadMessage::NoHeaders));
        assert_eq!(check_shape(b"Subject: x\r\n\r\n\0\0binary body is fine"), Ok(()));
    }

    #[test]
    fn a_plain_message_is_not_a_bounce() {
        let r = parse(b"From: a@example.com\nTo: b@example.org\nSubject: hello\n\nSee you tomorrow.\n").unwrap();
        assert_eq!(r.kind, Kind::NotABounce);
        assert_eq!(r.entries, vec![ignore_row(Reason::NotABounce)]);
    }
}

#[doc(hidden)]
pub fn debug_dump(raw: &[u8]) -> String {
    let Some(mail) = mime::read(raw) else { return "unreadable".into() };
    let human = mail.texts.join("\n");
    let (report, returned) = text::split_returned(&human);
    format!(
        "texts={} dsn={} feedback={} returned={:?}\nunclosed={} cut={}\n--- report ---\n{}\n--- returned ---\n{}\n--- dsn ---\n{}",
        mail.texts.len(),
        mail.dsn.len(),
        mail.feedback.is_some(),
        mail.returned.as_ref().map(|r| r.len()),
        mail.unclosed,
        mail.report_cut,
        report,
        returned.unwrap_or("").chars().take(300).collect::<String>(),
        mail.dsn.join("\n=====\n")
    )
}
