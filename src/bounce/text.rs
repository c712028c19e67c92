//! Bounces written for people: find where the returned message starts, then
//! split the report into one block of text per failed recipient.

use super::{address, smtp};
use std::collections::{HashMap, HashSet};

/// A recipient and the lines of the report about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub recipient: String,
    pub text: String,
}

impl Block {
    /// Exim's "(generated from a@b)": the address before an alias or a
    /// forward rewrote it.
    pub fn generated_from(&self) -> Option<String> {
        let lower = self.text.to_ascii_lowercase();
        let at = lower.find("generated from")?;
        address::first(&self.text[at..]).filter(|a| *a != self.recipient)
    }
}

/// Lines that announce the returned message (or its headers), as their
/// line starts once dashes, stars and spaces are trimmed and it is
/// lower-cased ("------ This is a copy of the message, including all the
/// headers. ------", "--- Below this line is a copy of the message.").
const RETURNED_MARKERS: &[&str] = &[
    "this is a copy of",
    "below this line is a copy",
    "enclosed is a copy",
    "a copy of the original message",
    "copy of the message",
    "original message",
    "the original message follows",
    "unsent message follows",
    "returned message",
    "message headers follow",
    "header of the original message",
    "headers of the original message",
    "the header of the original message",
    "the headers of the original message",
    "included is a copy of the message header",
    "original mail info",
];

/// Is this line a marker before the returned message?
fn is_returned_marker(line: &str) -> bool {
    let t = line
        .trim_matches(|c: char| c == '-' || c == '*' || c == '=' || c == '_' || c.is_whitespace())
        .to_lowercase();
    if t.len() > 80 || t.contains("was received") {
        return false;
    }
    RETURNED_MARKERS.iter().any(|m| t.starts_with(m))
}

/// A header line of a returned message at the start of a line.
fn is_header_start(line: &str) -> bool {
    const NAMES: &[&str] = &[
        "return-path:",
        "received:",
        "dkim-signature:",
        "x-received:",
        "arc-seal:",
        "x-google-smtp-source:",
        "authentication-results:",
    ];
    let l = line.to_ascii_lowercase();
    NAMES.iter().any(|n| l.starts_with(n))
}

/// Splits a text bounce into the report and the returned message (or its
/// headers), at the first marker line or, failing that, the first line that
/// opens a header block (`Return-Path:`, `Received:`…).
pub fn split_returned(text: &str) -> (&str, Option<&str>) {
    let mut offset = 0;
    let mut header_at = None;
    for line in text.split_inclusive('\n') {
        if is_returned_marker(line) {
            return (&text[..offset], Some(&text[offset + line.len()..]));
        }
        if header_at.is_none() && is_header_start(line) {
            header_at = Some(offset);
        }
        offset += line.len();
    }
    match header_at {
        Some(at) => (&text[..at], Some(&text[at..])),
        None => (text, None),
    }
}

/// Does the address on this line sit in a quoted header or a sender
/// context, where it is not a failed recipient?
fn is_sender_context(lower_line: &str, start: usize) -> bool {
    let before = lower_line.get(..start).unwrap_or(lower_line);
    let trimmed = lower_line.trim_start();
    if before.contains("generated from") {
        // The address an alias was expanded from, not another failure.
        return true;
    }
    const HEADERS: &[&str] = &[
        "from:",
        "to:",
        "cc:",
        "reply-to:",
        "sender:",
        "return-path:",
        "subject:",
        "sent:",
    ];
    HEADERS.iter().any(|h| trimmed.starts_with(h))
        || [
            "mail from:",
            "mail from: ",
            "mail from:<",
            "envelope-from",
            "from:<",
            "from <",
        ]
        .iter()
        .any(|p| {
            before
                .trim_end_matches(['<', ' '])
                .ends_with(p.trim_end_matches(['<', ' ']))
        })
}

/// A line that closes the block before it: a section rule or the start of
/// a transcript with another host.
fn is_separator(line: &str) -> bool {
    let t = line.trim();
    let lower = t.to_ascii_lowercase();
    (t.len() >= 3 && t.chars().all(|c| matches!(c, '-' | '=' | '*' | '_')))
        || lower.starts_with("while talking to")
        || lower.starts_with("... while talking to")
        || lower.contains("----- transcript of session")
}

/// Does the lead line carry the server's answer itself (`554 <a@b>... No
/// such user`, `a@b: 550 5.1.1 …`)? Then only the lines that continue it
/// belong to it.
fn is_self_contained(line: &str, start: usize, end: usize) -> bool {
    let before = line.get(..start).unwrap_or("").trim_start();
    let rest = line.get(end..).unwrap_or("");
    let opens_with_code = before.len() >= 3 && before.as_bytes()[..3].iter().all(u8::is_ascii_digit);
    opens_with_code || smtp::find_reply_code(rest).is_some() || !smtp::find_statuses(rest).is_empty()
}

/// A new line of an SMTP transcript: a reply (`550 …`) or a command
/// (`>>> RCPT`, `<<< 550`).
fn opens_transcript_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with(">>>")
        || t.starts_with("<<<")
        || (t.len() >= 4 && t.as_bytes()[..3].iter().all(u8::is_ascii_digit) && matches!(t.as_bytes()[3], b' ' | b'-'))
}

/// The recipient a line is about: its first address that is a recipient.
/// `known` (from a DSN or an `X-Failed-Recipients` header) limits the
/// candidates; otherwise every address counts except the `exclude`d ones
/// (our own), the mail system's and those quoted as a sender or in a header.
fn lead_of(line: &str, known: &HashSet<&str>, exclude: &[String]) -> Option<(String, usize, usize)> {
    // ASCII lower-casing keeps the byte offsets of the addresses.
    let lower = line.to_ascii_lowercase();
    address::find_all(line)
        .into_iter()
        .find(|f| {
            if known.is_empty() {
                !exclude.contains(&f.address)
                    && !address::is_system_address(&f.address)
                    && !is_sender_context(&lower, f.start.min(lower.len()))
            } else {
                known.contains(f.address.as_str())
            }
        })
        .map(|f| (f.address, f.start, f.end))
}

/// Splits `report` into one block per recipient, in the order they first
/// appear. A recipient's block is every stretch of lines that starts at a
/// line naming it and runs to the next line naming a recipient (or a
/// separator); a line that carries the server's answer itself keeps only
/// the lines that continue it (up to a blank line or the next transcript
/// line).
pub fn recipient_blocks(report: &str, known: &[String], exclude: &[String]) -> Vec<Block> {
    let lines: Vec<&str> = report.lines().collect();
    let known: HashSet<&str> = known.iter().map(String::as_str).collect();
    let leads: Vec<Option<(String, usize, usize)>> = lines.iter().map(|l| lead_of(l, &known, exclude)).collect();
    let mut out: Vec<Block> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut last_end = 0;
    for (n, lead) in leads.iter().enumerate() {
        let Some((addr, start, end_of_addr)) = lead else {
            continue;
        };
        let before = transcript_before(&lines[last_end.min(n)..n]);
        let self_contained = is_self_contained(lines[n], *start, *end_of_addr);
        let mut end = n + 1;
        while end < lines.len() && leads[end].is_none() && !is_separator(lines[end]) {
            let line = lines[end];
            if self_contained && (line.trim().is_empty() || opens_transcript_line(line)) {
                break;
            }
            end += 1;
        }
        last_end = end;
        let mut stretch = lines[n..end].join("\n");
        if !before.is_empty() && !index.contains_key(addr) {
            stretch = format!("{before}\n{stretch}");
        }
        match index.get(addr) {
            Some(&i) => {
                out[i].text.push('\n');
                out[i].text.push_str(&stretch);
            }
            None => {
                index.insert(addr.clone(), out.len());
                out.push(Block {
                    recipient: addr.clone(),
                    text: stretch,
                });
            }
        }
    }
    out
}

/// Sendmail writes the conversation that failed (`While talking to
/// host:`, `>>> MAIL From:…`, `<<< 550 …`) before the lines about the
/// recipients it concerns, which then often say only "Remote protocol
/// error". The commands and replies of the last such conversation between
/// two recipients' lines belong to the next recipient.
fn transcript_before(lines: &[&str]) -> String {
    let Some(k) = lines
        .iter()
        .rposition(|l| l.trim_start().to_ascii_lowercase().starts_with("while talking to"))
    else {
        return String::new();
    };
    lines[k + 1..]
        .iter()
        .map(|l| l.trim_start())
        .filter(|l| l.starts_with(">>>") || l.starts_with("<<<"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Collapses runs of whitespace to one space.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text of an HTML part: tags dropped, block ends as new lines, the
/// common entities decoded. Only used to read words, never to show HTML.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[lt + 1..lt + gt].to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/', '\t', '\n'])
            .next()
            .unwrap_or("");
        if matches!(
            name,
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "pre" | "table"
        ) {
            out.push('\n');
        }
        rest = &rest[lt + gt + 1..];
        if matches!(name, "style" | "script") && !tag.starts_with('/') {
            let close = format!("</{name}");
            let end = rest.to_ascii_lowercase().find(&close).unwrap_or(rest.len());
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    decode_entities(&out)
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let end = tail.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| match &tail[1..e] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            n if n.starts_with("#x") || n.starts_with("#X") => {
                u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32)
            }
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const QMAIL_LIKE: &str = "Hi. This is the mail program at mx.example.net.\n\
        I'm afraid I wasn't able to deliver your message to the following addresses.\n\n\
        <one@example.org>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 <one@example.org>... User Unknown\n\n\
        <two@example.org>:\nRemote host said: 552 5.2.2 Mailbox full\n\n\
        --- Below this line is a copy of the message.\n\nReturn-Path: <me@example.com>\nTo: one@example.org\n";

    #[test]
    fn splits_at_the_copy_marker() {
        let (report, returned) = split_returned(QMAIL_LIKE);
        assert!(report.ends_with("Mailbox full\n\n"));
        assert!(returned.unwrap().contains("Return-Path: <me@example.com>"));
    }

    #[test]
    fn sendmail_preamble_is_not_a_marker() {
        let t = "The original message was received at Mon, 1 Jan\n<a@example.org>\n(reason: 550 no)\n";
        assert_eq!(split_returned(t).1, None);
    }

    #[test]
    fn one_block_per_recipient() {
        let (report, _) = split_returned(QMAIL_LIKE);
        let b = recipient_blocks(report, &[], &[]);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].recipient, "one@example.org");
        assert!(b[0].text.contains("User Unknown") && !b[0].text.contains("Mailbox full"));
        assert!(b[1].text.contains("Mailbox full"));
    }

    #[test]
    fn senders_and_quoted_headers_are_not_recipients() {
        let t = "  To:      me@example.com\n  a@example.org\n    SMTP error after MAIL FROM:<me2@example.com>:\n";
        let b = recipient_blocks(t, &[], &["me@example.com".into()]);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].recipient, "a@example.org");
    }

    #[test]
    fn html_reads_as_text() {
        assert_eq!(
            html_to_text("<p>a&amp;b</p><style>x{}</style>c&#64;d<br>e"),
            "\na&b\nc@d\ne"
        );
    }
}
