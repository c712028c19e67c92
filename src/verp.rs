//! VERP: a per-recipient envelope sender (`bounces+TOKEN@example.com`), so
//! that a bounce, which goes to the envelope sender, says by its own
//! address which issue and which subscriber it is about, whatever the
//! bounce itself contains.
//!
//! The token is 15 bytes written as 24 characters of lower-case base32
//! (letters and 2-7: safe in a local part, and unharmed by relays that
//! change the case of addresses): 5 bytes naming the issue and 10 naming
//! the recipient, both keyed MACs (HMAC-SHA256 under a key derived from the
//! unsubscribe secret). Without the key nobody can make the token of an
//! address, so nobody can get an address suppressed by forging a bounce to
//! it. Neither part reveals the address or the issue. Reading a token back
//! means finding the issue and the subscriber whose MACs match it.
//!
//! The token depends only on the key, the issue and the address: the same
//! recipient gets the same envelope sender on every attempt, and it never
//! appears in the message bytes (the receiving side adds `Return-Path`).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

use crate::config::verp_address::ALPHABET;
pub use crate::config::verp_address::{Template, PLACEHOLDER, TOKEN_LEN};
pub use crate::keys::VerpKey;
pub const ISSUE_TAG: usize = 5;
const RCPT_TAG: usize = 10;

/// A token read back: the issue's tag and the recipient's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token {
    pub issue: [u8; ISSUE_TAG],
    pub rcpt: [u8; RCPT_TAG],
}

impl VerpKey {
    fn tag(&self, label: &[u8], value: &str) -> [u8; 32] {
        let mut m = HmacSha256::new_from_slice(self.bytes()).expect("HMAC takes any key");
        m.update(label);
        m.update(&[0]);
        m.update(value.as_bytes());
        m.finalize().into_bytes().into()
    }

    pub fn issue_tag(&self, issue_id: &str) -> [u8; ISSUE_TAG] {
        self.tag(b"issue", issue_id)[..ISSUE_TAG].try_into().expect("length")
    }

    pub fn rcpt_tag(&self, email: &str) -> [u8; RCPT_TAG] {
        self.tag(b"rcpt", &crate::address::key(email))[..RCPT_TAG]
            .try_into()
            .expect("length")
    }

    /// The token of one issue and recipient.
    pub fn token(&self, issue_id: &str, email: &str) -> String {
        self.token_with(&self.issue_tag(issue_id), email)
    }

    /// The token of a recipient for the issue whose [`issue_tag`](Self::issue_tag)
    /// is `issue` (made once per issue by a sender).
    pub fn token_with(&self, issue: &[u8; ISSUE_TAG], email: &str) -> String {
        let mut raw = [0u8; ISSUE_TAG + RCPT_TAG];
        raw[..ISSUE_TAG].copy_from_slice(issue);
        raw[ISSUE_TAG..].copy_from_slice(&self.rcpt_tag(email));
        encode(&raw)
    }
}

/// A token's two tags, or None when it is not a token's shape.
pub fn decode(token: &str) -> Option<Token> {
    let raw = decode_base32(&token.to_ascii_lowercase())?;
    Some(Token {
        issue: raw[..ISSUE_TAG].try_into().ok()?,
        rcpt: raw[ISSUE_TAG..].try_into().ok()?,
    })
}

/// Base32 (RFC 4648 alphabet, lower case, no padding) of 15 bytes: three
/// groups of 5 bytes, 8 characters each.
fn encode(raw: &[u8; 15]) -> String {
    let mut out = String::with_capacity(TOKEN_LEN);
    for group in raw.chunks(5) {
        let n = group.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
        for i in (0..8).rev() {
            out.push(ALPHABET[((n >> (i * 5)) & 31) as usize] as char);
        }
    }
    out
}

fn decode_base32(s: &str) -> Option<[u8; 15]> {
    if s.len() != TOKEN_LEN {
        return None;
    }
    let mut out = [0u8; 15];
    for (g, chunk) in s.as_bytes().chunks(8).enumerate() {
        let mut n = 0u64;
        for &c in chunk {
            n = (n << 5) | ALPHABET.iter().position(|&a| a == c)? as u64;
        }
        for i in 0..5 {
            out[g * 5 + i] = (n >> ((4 - i) * 8)) as u8;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::UnsubscribeKey;

    fn key() -> VerpKey {
        VerpKey::derive(&UnsubscribeKey::new(b"0123456789abcdef0123".to_vec()).unwrap())
    }

    #[test]
    fn tokens_are_stable_keyed_and_read_back() {
        let k = key();
        let t = k.token("2026-w47", "Reader@Example.org");
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.bytes().all(|b| ALPHABET.contains(&b)), "{t}");
        assert_eq!(
            t,
            k.token("2026-w47", "reader@example.org"),
            "the address key, not its case"
        );
        assert_ne!(t, k.token("2026-w48", "reader@example.org"));
        assert_ne!(t, k.token("2026-w47", "other@example.org"));
        let other = VerpKey::derive(&UnsubscribeKey::new(b"another-key-of-16-bytes".to_vec()).unwrap());
        assert_ne!(t, other.token("2026-w47", "reader@example.org"));
        let d = decode(&t.to_ascii_uppercase()).unwrap();
        assert_eq!(d.issue, k.issue_tag("2026-w47"));
        assert_eq!(d.rcpt, k.rcpt_tag("reader@example.org"));
        assert_eq!(encode(&decode_base32(&t).unwrap()), t);
        assert!(decode("short").is_none());
        assert!(decode(&"1".repeat(TOKEN_LEN)).is_none(), "1 is not in the alphabet");
    }

    #[test]
    fn templates_fit_a_local_part_and_give_a_plain_address() {
        let t = Template::parse("bounces+{token}@example.com").unwrap();
        assert_eq!(t.plain().unwrap().to_string(), "bounces@example.com");
        let tok = key().token("w1", "a@b.example");
        assert_eq!(t.address(&tok).to_string(), format!("bounces+{tok}@example.com"));
        assert_eq!(
            Template::parse("{token}-bounce@example.com")
                .unwrap()
                .plain()
                .unwrap()
                .to_string(),
            "bounce@example.com"
        );
        let long = format!("{}+{{token}}@example.com", "b".repeat(40));
        let e = Template::parse(&long).unwrap_err();
        assert!(e.contains("over the 64 that SMTP allows"), "{e}");
        for bad in [
            "bounces@{token}.example.com",
            "{token}{token}@example.com",
            "bounces+{token}",
            "{token}@",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        let e = Template::parse("{token}@example.com").unwrap_err();
        assert_eq!(e, "the address without its token has an empty local part");
    }

    #[test]
    fn tokens_are_found_in_any_case_and_only_in_our_addresses() {
        let t = Template::parse("bounces+{token}@news.example.com").unwrap();
        let tok = key().token("w1", "a@b.example");
        let text = format!(
            "Delivered-To: BOUNCES+{}@NEWS.EXAMPLE.COM\nTo: bounces+{tok}@news.example.com\nX: xbounces+{tok}@news.example.com bounces+{tok}@other.example",
            tok.to_uppercase()
        );
        assert_eq!(t.find_tokens(&text), vec![tok.clone()]);
        assert!(t.find_tokens("bounces+short@news.example.com").is_empty());
    }
}
