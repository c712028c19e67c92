//! DKIM signatures (RFC 6376: rsa-sha256, relaxed/relaxed) made with the
//! signing time passed in.
//!
//! lettre's signer reads the system clock for the `t=` tag, so a signed
//! `.eml` changed every second and a message's bytes were not a function of
//! the clock handed to the builder. This signer takes the time from the
//! caller (the message's `Date`), and writes the same tags, in the same
//! order, as lettre's (a test compares the two at lettre's `t=`). It reads
//! the header section as bytes, so the one-buffer assembler and lettre's
//! builder (the confirmation mail) both use it.

use lettre::message::header::{HeaderName, HeaderValue};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// The headers DKIM signs, in this order (listed in `h=` whether or not a
/// message has them: an absent one signs as empty, so it cannot be added).
pub const SIGNED_HEADERS: [&str; 8] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The DER prefix of a SHA-256 DigestInfo (RFC 8017, section 9.2, note 1):
/// PKCS#1 v1.5 signs it followed by the digest.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];

/// A domain's RSA signing key and where its public half is published.
pub struct DkimKey {
    domain: String,
    selector: String,
    key: RsaPrivateKey,
    /// The `h=` list: [`SIGNED_HEADERS`] lower-cased, made once per key.
    h: String,
}

impl std::fmt::Debug for DkimKey {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DkimKey({}._domainkey.{})", self.selector, self.domain)
    }
}

impl DkimKey {
    /// Reads an RSA private key in PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or
    /// PKCS#8 (`BEGIN PRIVATE KEY`, what `openssl genrsa` writes today).
    pub fn from_pem(pem: &str, domain: &str, selector: &str) -> Result<DkimKey, String> {
        Ok(DkimKey {
            domain: domain.to_string(),
            selector: selector.to_string(),
            key: private_key(pem)?,
            h: SIGNED_HEADERS.map(str::to_ascii_lowercase).join(":"),
        })
    }

    /// The `DKIM-Signature` header for a message whose header section
    /// (header lines, CRLF-terminated, without the blank line) is `head` and
    /// whose body is `body`, signed at `time`.
    pub fn signature(&self, head: &[u8], body: &[u8], time: SystemTime) -> HeaderValue {
        HeaderValue::new(
            HeaderName::new_from_ascii_str("DKIM-Signature"),
            self.signature_value(head, body, time),
        )
    }

    /// The header's value, unfolded.
    fn signature_value(&self, head: &[u8], body: &[u8], time: SystemTime) -> String {
        let t = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let bh = base64(&body_hash(body));
        let unsigned = format!(
            "v=1; a=rsa-sha256; d={}; s={}; c=relaxed/relaxed; q=dns/txt; t={t}; h={}; bh={bh}; b=",
            self.domain, self.selector, self.h
        );
        let mut hasher = Sha256::new();
        let fields = fields(head);
        for name in SIGNED_HEADERS {
            // RFC 6376 5.4.2: the last instance of a header signs first.
            if let Some(field) = fields
                .iter()
                .rev()
                .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            {
                hasher.update(relaxed_header(name, field.value).as_bytes());
            }
        }
        // The signature's own header signs last, b= empty, no CRLF.
        let own = relaxed_header("DKIM-Signature", unsigned.as_bytes());
        hasher.update(own.trim_end_matches("\r\n").as_bytes());
        let mut digest_info = SHA256_DIGEST_INFO.to_vec();
        digest_info.extend_from_slice(&hasher.finalize());
        // The DigestInfo is built here, so the padding adds no prefix (rsa's
        // own SHA-256 prefix would need its older sha2).
        let padding = Pkcs1v15Sign::new_unprefixed();
        // Blinded by the OS's random numbers; PKCS#1 v1.5 output is the same.
        let signature = self
            .key
            .sign_with_rng(&mut rsa::rand_core::OsRng, padding, &digest_info)
            .expect("a 19 + 32 byte DigestInfo fits any RSA key of 512 bits or more");
        format!("{unsigned}{}", base64(&signature))
    }

    /// Signs a message built by lettre at `time` (the signature goes after
    /// its other headers, where lettre's own signer puts it).
    pub fn sign_message(&self, message: &mut lettre::Message, time: SystemTime) {
        let bytes = message.formatted();
        let split = memchr::memmem::find(&bytes, b"\r\n\r\n").map_or(bytes.len(), |i| i + 2);
        let (head, body) = bytes.split_at(split);
        let body = body.strip_prefix(b"\r\n").unwrap_or(body);
        let value = self.signature(head, body, time);
        message.headers_mut().insert_raw(value);
    }
}

/// The public half of an RSA key in PEM as DNS publishes it: the base64 of
/// its SubjectPublicKeyInfo, for a `v=DKIM1; k=rsa; p=…` record.
pub fn public_key(pem: &str) -> Result<String, String> {
    let spki = private_key(pem)?
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    Ok(base64(spki.as_bytes()))
}

fn private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    let key = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| e.to_string())
    } else {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())
    };
    key.map_err(|e| format!("not an RSA private key in PEM (PKCS#1 or PKCS#8): {e}"))
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One header field of a header section: its name and its value as written
/// (after the colon, folding CRLFs included).
struct Field<'a> {
    name: &'a [u8],
    value: &'a [u8],
}

/// The header section's fields; a line starting with a space or tab
/// continues the field before it.
fn fields(head: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::with_capacity(16);
    let mut start = 0;
    while start < head.len() {
        let mut end = start;
        loop {
            end += memchr::memchr(b'\n', &head[end..]).map_or(head.len() - end, |i| i + 1);
            if end >= head.len() || !matches!(head[end], b' ' | b'\t') {
                break;
            }
        }
        let line = &head[start..end];
        if let Some(colon) = memchr::memchr(b':', line) {
            out.push(Field {
                name: trim_wsp(&line[..colon]),
                value: &line[colon + 1..],
            });
        }
        start = end;
    }
    out
}

fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 6376 3.4.2: the name lower-cased; the value unfolded, every run of
/// spaces and tabs one space, none at either end; `name:value\r\n`.
fn relaxed_header(name: &str, value: &[u8]) -> String {
    let mut out = name.to_ascii_lowercase();
    out.push(':');
    let mut value_bytes = Vec::with_capacity(value.len());
    let mut space = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = true,
            _ => {
                if space && !value_bytes.is_empty() {
                    value_bytes.push(b' ');
                }
                space = false;
                value_bytes.push(b);
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&value_bytes));
    out.push_str("\r\n");
    out
}

/// RFC 6376 3.4.4 and 3.7: SHA-256 of the body with every run of spaces and
/// tabs one space, none at a line's end, no empty lines at the end, and a
/// final CRLF when anything is left.
fn body_hash(body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut blank_lines = 0usize;
    let mut line = Vec::with_capacity(80);
    for raw in body.split_inclusive(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        line.clear();
        let mut space = false;
        for &b in raw {
            if matches!(b, b' ' | b'\t') {
                space = true;
            } else {
                if space {
                    line.push(b' ');
                }
                space = false;
                line.push(b);
            }
        }
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        for _ in 0..blank_lines {
            hasher.update(b"\r\n");
        }
        blank_lines = 0;
        hasher.update(&line);
        hasher.update(b"\r\n");
    }
    hasher.finalize().into()
}

#[cfg(test)]
#[path = "dkim_tests.rs"]
mod tests;
