//! One recipient's message bytes, written once into one buffer.
//!
//! lettre's builder, per recipient, took both bodies rendered whole, copied
//! them into MIME parts and formatted the whole tree into a growing buffer:
//! the 57 KB of body were copied five or six times per message (callgrind,
//! 5,000-message dry run). Here what is the same for every recipient is
//! encoded once per issue ([`Statics`]: header lines and part headers, by
//! lettre's own header types), and per recipient only the personal headers
//! are encoded (lettre's types again: the To name, the subject, the
//! Message-ID, List-Unsubscribe) and only the bodies' personal rest after
//! their common prefix is rendered and base64-encoded (see `mime_body`).
//! Everything is appended to one buffer sized up front, in the order and
//! with the bytes lettre's `Message::formatted()` gives for the same message;
//! `tests` compare the two for many recipients. DKIM signs the header lines
//! as written and the body, at the message's date (`crate::dkim`).

use super::MessageFactory;
use crate::config::Newsletter;
use crate::mime_body::encoded_len;
use crate::render::Personal;
use lettre::message::header::{self, ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue, Headers};
use lettre::message::{Body, Mailbox, Mailboxes, SinglePart};
use std::time::SystemTime;

/// Room for the personal header lines, boundaries and part headers
/// beyond what is measured, so the buffer is rarely grown.
const HEAD_ROOM: usize = 2048;

/// What every recipient's message shares, encoded once per issue.
pub(super) struct Statics {
    /// `From: …\r\n`
    from: Vec<u8>,
    /// `Date: …\r\n`
    date_line: Vec<u8>,
    /// `List-Id: …\r\n` and, when configured, `Reply-To: …\r\n`.
    list_id_reply_to: Vec<u8>,
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n`
    one_click: Vec<u8>,
    /// `MIME-Version: 1.0\r\n`
    mime_version: Vec<u8>,
    /// The text and HTML parts' headers and the blank line after them.
    text_part: Vec<u8>,
    html_part: Vec<u8>,
    /// The message's date: DKIM's signing time too.
    pub(super) date: SystemTime,
}

impl Statics {
    pub(super) fn new(nl: &Newsletter, date: SystemTime) -> Self {
        let list_id = HeaderValue::new(header_name("List-Id"), format!("{} <{}>", nl.name, nl.list_id));
        let mut list_id_reply_to = line(list_id);
        if let Some(reply_to) = &nl.reply_to {
            list_id_reply_to.extend(line(header::ReplyTo::from(Mailboxes::from(reply_to.clone())).display()));
        }
        Statics {
            from: line(header::From::from(Mailboxes::from(nl.from.clone())).display()),
            date_line: line(header::Date::new(date).display()),
            list_id_reply_to,
            one_click: line(one_click()),
            mime_version: line(header::MIME_VERSION_1_0.display()),
            text_part: part_head(ContentType::TEXT_PLAIN),
            html_part: part_head(ContentType::TEXT_HTML),
            date,
        }
    }

    fn len(&self) -> usize {
        self.from.len()
            + self.date_line.len()
            + self.list_id_reply_to.len()
            + self.one_click.len()
            + self.mime_version.len()
            + self.text_part.len()
            + self.html_part.len()
    }
}

/// The headers that differ per recipient, encoded by lettre's header types.
pub(super) struct PersonalHeaders {
    to: HeaderValue,
    subject: HeaderValue,
    message_id: HeaderValue,
    list_unsubscribe: Option<HeaderValue>,
    /// List-Unsubscribe-Post (RFC 8058): only with an https URL.
    one_click: bool,
}

impl PersonalHeaders {
    /// `subject` must have passed `mime_header::text_problem`.
    pub(super) fn new(
        to: Mailbox,
        subject: &str,
        message_id: &str,
        list_unsubscribe: Option<String>,
        one_click: bool,
    ) -> Self {
        PersonalHeaders {
            to: header::To::from(Mailboxes::from(to)).display(),
            subject: crate::mime_header::unstructured("Subject", subject),
            message_id: header::MessageId::from(message_id.to_string()).display(),
            list_unsubscribe: list_unsubscribe.map(|v| HeaderValue::new(header_name("List-Unsubscribe"), v)),
            one_click,
        }
    }
}

/// One recipient's whole message: headers in the order lettre's builder
/// wrote them (From, To, Subject, Date, Message-ID, List-Id, Reply-To,
/// List-Unsubscribe, List-Unsubscribe-Post, MIME-Version, DKIM-Signature,
/// Content-Type), a blank line, then the multipart/alternative body.
pub(super) fn message(
    f: &MessageFactory<'_>,
    heads: PersonalHeaders,
    personal: &Personal<'_>,
    boundary: &str,
) -> Vec<u8> {
    let mut text_rest = String::with_capacity(f.prepared.text_rest_capacity());
    f.prepared.write_text_rest(personal, &mut text_rest);
    let mut html_rest = String::with_capacity(f.prepared.html_rest_capacity());
    f.prepared.write_html_rest(personal, &mut html_rest);
    // Base64 grows the rest by 4/3 plus CRLFs; line ends add a little before that.
    let body_len = f.text_body.head_len()
        + f.html_body.head_len()
        + encoded_len(text_rest.len() * 11 / 10 + 64)
        + encoded_len(html_rest.len() * 11 / 10 + 64);
    let mut out = Vec::with_capacity(f.statics.len() + body_len + HEAD_ROOM);
    let s = &f.statics;
    out.extend_from_slice(&s.from);
    put(&mut out, heads.to);
    put(&mut out, heads.subject);
    out.extend_from_slice(&s.date_line);
    put(&mut out, heads.message_id);
    out.extend_from_slice(&s.list_id_reply_to);
    if let Some(v) = heads.list_unsubscribe {
        put(&mut out, v);
    }
    if heads.one_click {
        out.extend_from_slice(&s.one_click);
    }
    out.extend_from_slice(&s.mime_version);
    let rests = [text_rest.as_str(), html_rest.as_str()];
    match &f.keys.dkim {
        None => {
            content_type(&mut out, boundary);
            body(f, boundary, rests, &mut out);
        }
        Some(dkim) => {
            let mut b = Vec::with_capacity(body_len + HEAD_ROOM);
            body(f, boundary, rests, &mut b);
            let signature = dkim.signature(&out, &b, s.date);
            put(&mut out, signature);
            content_type(&mut out, boundary);
            out.extend_from_slice(&b);
        }
    }
    out
}

/// The multipart's Content-Type line and the blank line that ends the headers.
fn content_type(out: &mut Vec<u8>, boundary: &str) {
    out.extend_from_slice(b"Content-Type: multipart/alternative; boundary=\"");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"\"\r\n\r\n");
}

/// The multipart body: the text part, the HTML part, the closing boundary.
fn body(f: &MessageFactory<'_>, boundary: &str, [text, html]: [&str; 2], out: &mut Vec<u8>) {
    let mut scratch = Vec::with_capacity(text.len().max(html.len()) * 11 / 10 + 64);
    let parts = [
        (&f.statics.text_part, &f.text_body, text),
        (&f.statics.html_part, &f.html_body, html),
    ];
    for (part_head, encoded, rest) in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part_head);
        encoded.write_rest(rest, &mut scratch, out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
}

fn one_click() -> HeaderValue {
    HeaderValue::new(
        header_name("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click".to_string(),
    )
}

/// A MIME part's headers as lettre writes them, with the blank line after them.
fn part_head(content_type: ContentType) -> Vec<u8> {
    let part = SinglePart::builder()
        .header(content_type)
        .body(Body::dangerous_pre_encoded(Vec::new(), ContentTransferEncoding::Base64));
    let mut bytes = part.formatted();
    // An empty body is followed by the CRLF that ends every part.
    bytes.truncate(bytes.len() - 2);
    bytes
}

/// One header line as lettre writes it: `Name: encoded value\r\n`.
fn line(value: HeaderValue) -> Vec<u8> {
    let mut out = Vec::new();
    put(&mut out, value);
    out
}

/// Appends one header line as lettre writes it.
fn put(out: &mut Vec<u8>, value: HeaderValue) {
    use std::io::Write;
    let mut one = Headers::with_capacity(1);
    one.insert_raw(value);
    write!(out, "{one}").expect("writing to a Vec cannot fail");
}

fn header_name(name: &'static str) -> HeaderName {
    HeaderName::new_from_ascii_str(name)
}
