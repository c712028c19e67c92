//! Base64 MIME bodies whose common start is encoded once per issue.
//!
//! Every recipient's body starts with the same long prefix (the whole issue)
//! and differs only in the footer. Base64 works on 3-byte groups and we wrap
//! at 76 columns (57 input bytes), so the prefix cut at a multiple of 57
//! bytes encodes to the same lines for everyone: per recipient only the
//! short rest is encoded. lettre's own `Body::new` would instead try
//! quoted-printable and base64 on the whole body to pick the shorter, which
//! cost more than everything else per message (perf, 20,000-message dry run).

use base64::Engine;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::Body;

const LINE_INPUT: usize = 57;

/// The encoded common start of one body.
pub struct PreEncoded {
    /// The common prefix as rendered (LF line ends).
    prefix: String,
    /// Base64 lines (CRLF-terminated) of the first whole 57-byte blocks.
    head: Vec<u8>,
    /// Canonical (CRLF) bytes of the prefix after those blocks.
    carry: Vec<u8>,
}

impl PreEncoded {
    pub fn new(prefix: &str) -> Self {
        let canonical = to_crlf(prefix.as_bytes(), Vec::new());
        let cut = canonical.len() / LINE_INPUT * LINE_INPUT;
        let mut head = Vec::with_capacity(cut / 3 * 4 + cut / LINE_INPUT * 2);
        wrap_base64(&canonical[..cut], &mut head);
        PreEncoded {
            prefix: prefix.to_string(),
            head,
            carry: canonical[cut..].to_vec(),
        }
    }

    /// The body for one recipient's text, which must start with the prefix.
    pub fn body(&self, text: &str) -> Body {
        let encoded = match text.strip_prefix(self.prefix.as_str()) {
            Some(rest) if !self.prefix.is_empty() => {
                let rest = to_crlf(rest.as_bytes(), self.carry.clone());
                let mut out = Vec::with_capacity(self.head.len() + rest.len() / 3 * 4 + rest.len() / 38 + 8);
                out.extend_from_slice(&self.head);
                wrap_base64(&rest, &mut out);
                out
            }
            // A body that does not start with the prefix (never from the
            // renderer, but cheap to stay correct) is encoded whole.
            _ => {
                let mut out = Vec::new();
                wrap_base64(&to_crlf(text.as_bytes(), Vec::new()), &mut out);
                out
            }
        };
        Body::dangerous_pre_encoded(encoded, ContentTransferEncoding::Base64)
    }
}

/// Appends `input` with every line ending made CRLF (bare CRs dropped).
fn to_crlf(input: &[u8], mut out: Vec<u8>) -> Vec<u8> {
    out.reserve(input.len() + input.len() / 40);
    let mut lines = input.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if line.contains(&b'\r') {
            out.extend(line.iter().filter(|&&b| b != b'\r'));
        } else {
            out.extend_from_slice(line);
        }
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Appends the base64 of `input` in lines of 76 characters, each ending CRLF.
fn wrap_base64(input: &[u8], out: &mut Vec<u8>) {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut line = [0u8; 76];
    for chunk in input.chunks(LINE_INPUT) {
        let n = engine.encode_slice(chunk, &mut line).expect("76 bytes hold 57 encoded");
        out.extend_from_slice(&line[..n]);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        wrap_base64(&to_crlf(text.as_bytes(), Vec::new()), &mut out);
        out
    }

    #[test]
    fn prefix_encoding_equals_whole_encoding_for_every_cut() {
        let base: String = "한국어 줄\nline two with ascii\r\n".repeat(20);
        for cut in [0, 1, 2, 56, 57, 58, 114, 200, base.len()] {
            let cut = (0..=cut).rev().find(|&c| base.is_char_boundary(c)).unwrap();
            let pre = PreEncoded::new(&base[..cut]);
            let full = format!("{base}footer for 김민지 <a@example.com>\n");
            assert_eq!(pre.body(&full).into_vec(), plain(&full), "cut {cut}");
        }
    }

    #[test]
    fn lines_are_76_columns_and_crlf_terminated() {
        let body = plain(&"x".repeat(500));
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(line.ends_with(b"\r") && line.len() <= 77);
        }
    }

    #[test]
    fn text_not_starting_with_the_prefix_is_encoded_whole() {
        let pre = PreEncoded::new(&"prefix ".repeat(30));
        assert_eq!(pre.body("something else").into_vec(), plain("something else"));
    }
}
