//! Base64 MIME bodies whose common start is encoded once per issue.
//!
//! Every recipient's body starts with the same long prefix (the whole issue)
//! and differs only in the footer. Base64 works on 3-byte groups and we wrap
//! at 76 columns (57 input bytes), so the prefix cut at a multiple of 57
//! bytes encodes to the same lines for everyone: per recipient only the
//! short rest is encoded, straight into the message's buffer
//! ([`PreEncoded::write_rest`]). lettre's own `Body::new` would instead try
//! quoted-printable and base64 on the whole body to pick the shorter, which
//! cost more than everything else per message (perf, 20,000-message dry run).

use base64::Engine;

const LINE_INPUT: usize = 57;

/// The encoded common start of one body.
pub struct PreEncoded {
    /// The common prefix as rendered (LF line ends), for the reference
    /// encoding of whole bodies in tests.
    #[cfg(test)]
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
            #[cfg(test)]
            prefix: prefix.to_string(),
            head,
            carry: canonical[cut..].to_vec(),
        }
    }

    /// Bytes of the encoded prefix (what every recipient's body starts with).
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// Appends the encoded body whose text is the prefix followed by `rest`
    /// (LF line ends): the prefix's lines as encoded once, then `rest` and
    /// the prefix's last partial line, encoded now. `scratch` is a buffer
    /// the caller may reuse.
    pub fn write_rest(&self, rest: &str, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        scratch.clear();
        scratch.extend_from_slice(&self.carry);
        to_crlf_into(rest.as_bytes(), scratch);
        out.reserve(self.head.len() + encoded_len(scratch.len()));
        out.extend_from_slice(&self.head);
        wrap_base64(scratch, out);
    }

    /// The body for one recipient's whole text as a lettre [`Body`]: what
    /// lettre's builder took before messages were assembled in one buffer
    /// (the reference the tests compare against).
    #[cfg(test)]
    pub fn body(&self, text: &str) -> lettre::message::Body {
        use lettre::message::header::ContentTransferEncoding;
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
        lettre::message::Body::dangerous_pre_encoded(encoded, ContentTransferEncoding::Base64)
    }
}

/// Bytes of the base64 of `n` bytes in CRLF-terminated lines of 76 characters.
pub fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4 + n.div_ceil(LINE_INPUT) * 2
}

/// `input` with every line ending made CRLF (bare CRs dropped), appended to `out`.
fn to_crlf(input: &[u8], mut out: Vec<u8>) -> Vec<u8> {
    to_crlf_into(input, &mut out);
    out
}

/// Appends `input` with every line ending made CRLF (bare CRs dropped).
/// Byte by byte (CR dropped, LF made CRLF), so converting two pieces one
/// after the other gives what converting them joined gives.
fn to_crlf_into(input: &[u8], out: &mut Vec<u8>) {
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
}

/// Appends the base64 of `input` in lines of 76 characters, each ending
/// CRLF, encoded straight into `out`.
fn wrap_base64(input: &[u8], out: &mut Vec<u8>) {
    let engine = &base64::engine::general_purpose::STANDARD;
    let start = out.len();
    out.resize(start + encoded_len(input.len()), 0);
    let mut at = start;
    for chunk in input.chunks(LINE_INPUT) {
        at += engine
            .encode_slice(chunk, &mut out[at..])
            .expect("the buffer holds the encoded length");
        out[at..at + 2].copy_from_slice(b"\r\n");
        at += 2;
    }
    debug_assert_eq!(at, out.len());
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

    #[test]
    fn the_rest_written_after_the_prefix_is_the_whole_encoding() {
        let base: String = "한국어 줄\nline two\r\n".repeat(20);
        let mut scratch = Vec::new();
        for cut in [0, 1, 56, 57, 58, 200, base.len()] {
            let cut = (0..=cut).rev().find(|&c| base.is_char_boundary(c)).unwrap();
            let pre = PreEncoded::new(&base[..cut]);
            let rest = format!("{}footer\n", &base[cut..]);
            let mut out = b"already here".to_vec();
            pre.write_rest(&rest, &mut scratch, &mut out);
            let whole = format!("{}{rest}", &base[..cut]);
            assert_eq!(out[12..], plain(&whole), "cut {cut}");
            assert_eq!(
                out.len() - 12,
                pre.head_len() + encoded_len(to_crlf(rest.as_bytes(), pre.carry.clone()).len())
            );
        }
    }
}
