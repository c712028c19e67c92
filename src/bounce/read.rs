//! Reading one message: decide what it is (complaint, DSN, text bounce,
//! automatic reply, none of these) and build its [`Report`].

use super::detect::{self, AutoReply, Bounce};
use super::entries::{dsn_entries, text_entries, Context};
use super::mime::{self, Fields, Mail};
use super::model::{Class, Entry, Kind, Original, Reason, Report};
use super::{address, arf, dsn, pseudo, text};
use std::fmt;

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
            BadMessage::Truncated => "truncated MIME: the message ends before its report could be read",
        })
    }
}

impl std::error::Error for BadMessage {}

/// A message must start with a header field and its header must be text.
/// Raw ISO-2022-JP headers (ESC sequences) are text; NUL bytes and a run of
/// other control bytes are not.
fn check_shape(raw: &[u8]) -> Result<(), BadMessage> {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(BadMessage::Empty)?;
    let rest = &raw[start..raw.len().min(start + 64 * 1024)];
    let head_end = [find(rest, b"\n\n"), find(rest, b"\r\n\r\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    let head = &rest[..head_end];
    let controls = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c | 0x1b)) || b == 0x7f)
        .count();
    if head.contains(&0) || controls > 8 {
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
    report.entries.iter_mut().for_each(pseudo::fill);
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
        report_id: mail.header("message-id").and_then(angle_id),
        entries,
        original: original.clone(),
        warnings: Vec::new(),
    };
    if let Some(fb) = &mail.feedback {
        return Ok(make(Kind::Feedback, arf::entries(fb, &original)));
    }
    let inline = if mail.dsn.is_empty() {
        dsn::inline(&ctx.report)
    } else {
        None
    };
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
    mail.header("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("multipart/report"))
}

/// The returned text after a marker may start with blank lines or prose.
fn skip_to_headers(t: &str) -> &str {
    let mut offset = 0;
    for line in t.split_inclusive('\n') {
        let l = line.trim_end();
        let is_field = l
            .find(':')
            .is_some_and(|c| c > 0 && !l[..c].contains(' ') && l.is_char_boundary(c));
        if is_field {
            return &t[offset..];
        }
        offset += line.len();
    }
    ""
}

fn addresses(fields: &Fields, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in fields
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, v)| address::find_all(v))
    {
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

/// `<id@host>` (also from a value without brackets or with comments
/// around it), or None when there is no usable id.
fn angle_id(v: &str) -> Option<String> {
    let v = v.trim();
    let inner = v.trim_start_matches('<').split('>').next().unwrap_or("").trim();
    let ok = !inner.is_empty() && !inner.contains(|c: char| c.is_whitespace() || c.is_control());
    ok.then(|| format!("<{inner}>"))
}

fn original(returned: &Fields) -> Original {
    let message_id = mime::field(returned, "message-id").and_then(angle_id);
    Original {
        message_id,
        recipients: addresses(returned, "to"),
    }
}

fn ignore_row(reason: Reason) -> Entry {
    Entry {
        recipient: None,
        original_recipient: None,
        action: None,
        status: None,
        status_inferred: false,
        reply_code: None,
        diagnostic: String::new(),
        class: Class::Ignore,
        reason,
        feedback_type: None,
    }
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
        assert_eq!(check_shape(b"Subject: \x1b$B%F%9%H\x1b(B\n\nraw ISO-2022-JP"), Ok(()));
        assert_eq!(
            check_shape(b"Subject: x\r\nTo: y\r\n\r\nbody\n\nmore\x01\x02\x03\x04\x05\x06\x07\x08\x0e"),
            Ok(())
        );
    }

    #[test]
    fn a_plain_message_is_not_a_bounce() {
        let r = parse(b"From: a@example.com\nTo: b@example.org\nSubject: hello\n\nSee you tomorrow.\n").unwrap();
        assert_eq!(r.kind, Kind::NotABounce);
        assert_eq!(r.entries, vec![ignore_row(Reason::NotABounce)]);
    }
}
