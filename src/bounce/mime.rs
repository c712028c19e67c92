//! The MIME structure of a bounce, read with mail-parser into what the
//! reading needs: the top headers, the human-readable text, the
//! machine-readable report parts and the headers of the returned message.

use super::text::html_to_text;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// Nesting deeper than this is not a bounce; stop there (no stack overflow).
const MAX_DEPTH: usize = 16;

/// Header fields as (lower-cased name, unfolded raw value), in order.
pub type Fields = Vec<(String, String)>;

/// The parts of a message that matter for reading a bounce.
#[derive(Debug, Default)]
pub struct Mail {
    pub headers: Fields,
    /// Subject with RFC 2047 words decoded.
    pub subject: String,
    /// Human-readable text parts outside the returned message, in order.
    pub texts: Vec<String>,
    /// `message/delivery-status` and `message/global-delivery-status` bodies.
    pub dsn: Vec<String>,
    /// `message/feedback-report` body.
    pub feedback: Option<String>,
    /// Headers of the returned message (`message/rfc822`, `message/global`
    /// or `text/rfc822-headers`).
    pub returned: Option<Fields>,
    /// The top multipart never closes and its last part is a report part:
    /// the report itself may be cut.
    pub report_cut: bool,
    /// The top multipart never closes.
    pub unclosed: bool,
}

impl Mail {
    /// The first value of a top-level header.
    pub fn header(&self, name: &str) -> Option<&str> {
        field(&self.headers, name)
    }
}

/// The first value of `name` in `fields`.
pub fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn unfold(raw: &str) -> String {
    raw.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn fields_of(msg: &Message<'_>) -> Fields {
    msg.headers_raw()
        .map(|(n, v)| (n.to_ascii_lowercase(), unfold(v)))
        .collect()
}

/// Header fields at the start of `bytes` (a `text/rfc822-headers` part or
/// the text after a "copy of the message follows" line).
pub fn header_fields(bytes: &[u8]) -> Fields {
    MessageParser::default()
        .parse_headers(bytes)
        .map(|m| fields_of(&m))
        .unwrap_or_default()
}

/// At most this many embedded messages are read. mail-parser builds (and
/// drops) nested messages recursively, so thousands of nested
/// `message/rfc822` parts would overflow the stack; a bounce has one.
const MAX_EMBEDDED: usize = 32;

/// `raw` cut before its `MAX_EMBEDDED + 1`-th embedded message. The report
/// parts of a bounce come before the message it returns, so nothing a
/// reading needs is lost.
fn shallow(raw: &[u8]) -> &[u8] {
    let lower = raw.to_ascii_lowercase();
    let mut seen = 0;
    let mut i = 0;
    while let Some(slash) = lower[i..].iter().position(|&b| b == b'/') {
        let at = i + slash;
        let before = &lower[..at];
        let after = &lower[at + 1..];
        let embeds = (before.ends_with(b"message") && (after.starts_with(b"rfc822") || after.starts_with(b"global")))
            || (before.ends_with(b"multipart") && after.starts_with(b"digest"));
        if embeds {
            seen += 1;
            if seen > MAX_EMBEDDED {
                let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                return &raw[..line_start];
            }
        }
        i = at + 1;
    }
    raw
}

/// Reads the structure. None when mail-parser finds no message at all.
pub fn read(raw: &[u8]) -> Option<Mail> {
    let raw = shallow(raw);
    let msg = MessageParser::default().parse(raw)?;
    let mut mail = Mail {
        headers: fields_of(&msg),
        subject: msg.subject().unwrap_or_default().to_string(),
        ..Mail::default()
    };
    let mut last_leaf = String::new();
    walk(&msg, 0, 0, &mut mail, &mut last_leaf);
    if let Some(boundary) = msg.content_type().and_then(|ct| ct.attribute("boundary")) {
        let closing = format!("--{boundary}--");
        mail.unclosed = !contains(raw, closing.as_bytes());
        let report_last = last_leaf.ends_with("delivery-status") || last_leaf == "message/feedback-report";
        mail.report_cut = mail.unclosed && report_last;
    }
    Some(mail)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn content_type(part: &mail_parser::MessagePart<'_>) -> (String, String) {
    part.content_type().map_or_else(
        || ("text".to_string(), "plain".to_string()),
        |ct| {
            (
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or_default().to_ascii_lowercase(),
            )
        },
    )
}

fn text_of(part: &mail_parser::MessagePart<'_>) -> String {
    match &part.body {
        PartType::Text(t) => t.to_string(),
        PartType::Html(h) => html_to_text(h),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b).into_owned(),
        PartType::Message(m) => String::from_utf8_lossy(m.raw_message()).into_owned(),
        PartType::Multipart(_) => String::new(),
    }
}

fn walk(msg: &Message<'_>, id: u32, depth: usize, mail: &mut Mail, last_leaf: &mut String) {
    let Some(part) = msg.part(id) else { return };
    if depth > MAX_DEPTH {
        return;
    }
    let (ctype, sub) = content_type(part);
    if let PartType::Multipart(children) = &part.body {
        let children = if sub == "alternative" {
            preferred_alternative(msg, children)
        } else {
            children.clone()
        };
        for child in children {
            walk(msg, child, depth + 1, mail, last_leaf);
        }
        return;
    }
    *last_leaf = format!("{ctype}/{sub}");
    if ctype == "multipart" {
        // A multipart whose boundary never appears: mail-parser keeps its
        // body as text, and the parts are in there as plain lines.
        if matches!(part.body, PartType::Text(_)) {
            mail.texts.push(text_of(part));
        }
        return;
    }
    match (ctype.as_str(), sub.as_str()) {
        ("message", "delivery-status" | "global-delivery-status") => mail.dsn.push(text_of(part)),
        ("message", "feedback-report") => mail.feedback = Some(text_of(part)),
        ("message", "rfc822" | "global") if mail.returned.is_none() => {
            mail.returned = Some(match &part.body {
                PartType::Message(m) => fields_of(m),
                _ => header_fields(text_of(part).as_bytes()),
            });
        }
        ("text", "rfc822-headers" | "rfc822-header") | ("message", "global-headers") if mail.returned.is_none() => {
            mail.returned = Some(header_fields(text_of(part).as_bytes()));
        }
        // A second returned message or header block is not the bounce's text.
        ("text", "rfc822-headers" | "rfc822-header") | ("message", _) => {}
        ("text", _) => mail.texts.push(text_of(part)),
        _ => {}
    }
}

/// In `multipart/alternative`, the text/plain version when there is one.
fn preferred_alternative(msg: &Message<'_>, children: &[u32]) -> Vec<u32> {
    let plain = children.iter().copied().find(|&c| {
        msg.part(c)
            .is_some_and(|p| matches!(&p.body, PartType::Text(_)) && content_type(p).1 == "plain")
    });
    match plain {
        Some(p) => vec![p],
        None => children.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_embedding_is_cut_before_it_gets_deep() {
        let mut msg = String::from("Subject: x\n");
        for _ in 0..100 {
            msg.push_str("Content-Type: message/rfc822\n\n");
        }
        let cut = shallow(msg.as_bytes());
        let kept = String::from_utf8_lossy(cut);
        assert_eq!(kept.matches("message/rfc822").count(), MAX_EMBEDDED);
        assert!(kept.ends_with("\n\n"));
        assert_eq!(shallow(b"Subject: y\n\nno parts"), b"Subject: y\n\nno parts");
    }
}
