//! Header text: what may go into a header, how a free-text header (the
//! subject) is encoded, and the RFC 5322 line limit checked on the result.
//!
//! lettre writes an ASCII word as it is and encodes the rest word by word:
//! control characters such as VT, FF and ESC go out raw, a title that looks
//! like an RFC 2047 encoded word (`=?utf-8?q?…?=`) is shown decoded by mail
//! clients, a run of spaces between two encoded words is dropped by every
//! decoder ("공백  두칸" arrives as "공백두칸"), and a long unbroken word
//! makes one line of any length. [`unstructured`] avoids all four: plain
//! text stays plain, anything else is encoded whole, spaces inside the
//! encoded words, folded into short lines.

use base64::Engine;
use lettre::message::header::{HeaderName, HeaderValue};

/// RFC 5322 section 2.1.1: a line is at most 998 octets without its CRLF.
pub const MAX_LINE: usize = 998;

/// The first character that must never reach a header: a control character
/// (C0 and C1, so also NUL, ESC and NEL) or a Unicode line or paragraph
/// separator. Described for an error message.
pub fn text_problem(s: &str) -> Option<String> {
    let c = s
        .chars()
        .find(|&c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')?;
    let what = match c {
        '\r' | '\n' => "a line break (CR or LF)",
        '\u{2028}' | '\u{2029}' => "a Unicode line or paragraph separator",
        _ => "a control character",
    };
    Some(format!("{what} (U+{:04X})", c as u32))
}

/// Longest plain word: with the header name in front a line stays under 78.
const MAX_PLAIN_WORD: usize = 66;
/// UTF-8 bytes per encoded word: 52 base64 characters, a 64-character word.
const CHUNK: usize = 39;

/// A free-text header (`Subject`), encoded so that it decodes to exactly
/// `value`. Call [`text_problem`] first: control characters are not encoded away.
pub fn unstructured(name: &'static str, value: &str) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str(name);
    if is_plain(value) {
        // lettre folds plain words at spaces.
        return HeaderValue::new(name, value.to_string());
    }
    let mut encoded = String::with_capacity(value.len() * 2);
    let mut rest = value;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if !encoded.is_empty() {
            encoded.push_str("\r\n ");
        }
        encoded.push_str("=?utf-8?b?");
        encoded.push_str(&base64::engine::general_purpose::STANDARD.encode(&rest.as_bytes()[..end]));
        encoded.push_str("?=");
        rest = &rest[end..];
    }
    HeaderValue::dangerous_new_pre_encoded(name, value.to_string(), encoded)
}

/// Printable ASCII in short words with single spaces between them, and
/// nothing a decoder would take for an encoded word.
fn is_plain(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.contains("=?")
        && !value.contains("  ")
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && value.split(' ').all(|w| w.len() <= MAX_PLAIN_WORD)
}

/// The first header line of `message` longer than [`MAX_LINE`] octets.
pub fn overlong_header(message: &[u8]) -> Option<String> {
    let end = memchr::memmem::find(message, b"\r\n\r\n").unwrap_or(message.len());
    let head = &message[..end];
    // The line that started the current header (continuation lines start
    // with a space or a tab); its name is read only to report a problem.
    let mut header_line: &[u8] = b"";
    let mut start = 0;
    while start <= head.len() {
        let stop = memchr::memchr(b'\n', &head[start..]).map_or(head.len(), |i| start + i);
        let line = &head[start..stop];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            header_line = line;
        }
        if line.len() > MAX_LINE {
            let name = std::str::from_utf8(header_line)
                .ok()
                .and_then(|l| l.split(':').next())
                .unwrap_or("?");
            return Some(format!(
                "the {name} header has a line of {} octets, more than the {MAX_LINE} mail allows",
                line.len()
            ));
        }
        start = stop + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::message::header::Headers;

    fn subject(value: &str) -> String {
        let mut h = Headers::new();
        h.insert_raw(unstructured("Subject", value));
        h.to_string()
    }

    fn decoded(value: &str) -> String {
        let raw = format!("{}\r\nbody", subject(value));
        let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
        parsed.subject().unwrap_or("").to_string()
    }

    #[test]
    fn plain_subjects_stay_plain() {
        assert_eq!(subject("Field Notes, Issue 47"), "Subject: Field Notes, Issue 47\r\n");
    }

    #[test]
    fn everything_else_is_encoded_whole_and_decodes_exactly() {
        for value in [
            "공백  두칸",
            "=?utf-8?q?Your_account_is_locked?=",
            "trailing space ",
            "  two leading",
            &"x".repeat(5000),
            &"가".repeat(2000),
            "mixed 한국어 and English,  two spaces",
        ] {
            let s = subject(value);
            assert!(s.lines().all(|l| l.len() <= 78), "{s}");
            assert!(!s.contains("=?utf-8?q?Your"), "the look-alike is encoded: {s}");
            assert_eq!(decoded(value), value);
        }
    }

    #[test]
    fn controls_and_separators_are_named() {
        assert_eq!(text_problem("a\u{b}b").unwrap(), "a control character (U+000B)");
        assert_eq!(text_problem("a\u{85}b").unwrap(), "a control character (U+0085)");
        assert_eq!(
            text_problem("a\u{2028}b").unwrap(),
            "a Unicode line or paragraph separator (U+2028)"
        );
        assert_eq!(text_problem("a\rb").unwrap(), "a line break (CR or LF) (U+000D)");
        assert_eq!(text_problem("공백  두칸 ✓"), None);
    }

    #[test]
    fn overlong_lines_are_found_with_their_header() {
        let ok = b"Subject: a\r\n b\r\nTo: x@y\r\n\r\nbody";
        assert_eq!(overlong_header(ok), None);
        let long = format!("Subject: a\r\nTo: {}\r\n\r\n{}", "x".repeat(1000), "y".repeat(2000));
        assert_eq!(
            overlong_header(long.as_bytes()).unwrap(),
            "the To header has a line of 1004 octets, more than the 998 mail allows"
        );
    }

    /// The check as first written (a window search, every header's name read).
    fn overlong_reference(message: &[u8]) -> Option<String> {
        let end = message
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(message.len());
        let mut name = "";
        for line in message[..end].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.starts_with(b" ") && !line.starts_with(b"\t") {
                name = std::str::from_utf8(line)
                    .ok()
                    .and_then(|l| l.split(':').next())
                    .unwrap_or("?");
            }
            if line.len() > MAX_LINE {
                return Some(format!(
                    "the {name} header has a line of {} octets, more than the {MAX_LINE} mail allows",
                    line.len()
                ));
            }
        }
        None
    }

    proptest::proptest! {
        #[test]
        fn overlong_search_agrees_with_the_first_version(
            lines in proptest::collection::vec(("[ \\tA-Za-z:가]{0,3}", 0usize..1100, "[\\r\\n]{0,3}"), 0..6)
        ) {
            let mut message = Vec::new();
            for (start, len, end) in &lines {
                message.extend_from_slice(start.as_bytes());
                message.extend(std::iter::repeat_n(b'x', *len));
                message.extend_from_slice(end.as_bytes());
            }
            proptest::prop_assert_eq!(overlong_header(&message), overlong_reference(&message));
        }
    }
}
