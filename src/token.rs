//! Unsubscribe tokens. A token names one address on one list and cannot be
//! forged, altered or read without the key.
//!
//! - v2 (made now): `base64url(0x02 ‖ AES-SIV(address))`. AES-SIV (RFC 5297)
//!   is deterministic authenticated encryption: the same address always gets
//!   the same token (messages stay byte-for-byte reproducible), the address is
//!   not readable from the link, and any change to the token fails to decrypt.
//!   The address is padded to a multiple of 16 bytes so the token length says
//!   little about it. The endpoint needs no database lookup.
//! - v1 (sent until this release): `b64(address).b64(HMAC-SHA256)`, the
//!   address readable in the link. Still verified, so links in messages
//!   already delivered keep working (for at least a year; we have no plan to
//!   drop them).

use crate::config::Config;
use crate::keys::UnsubscribeKey;
use aes_siv::siv::Aes128Siv;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Separates the fields inside the v1 MAC input, so that ("ab", "c") and
/// ("a", "bc") cannot collide; the prefix versions the scheme.
const DOMAIN: &[u8] = b"newsletter-unsubscribe-v1\0";
const V2: u8 = 2;
/// The longest address SMTP allows (RFC 5321: 254 octets in a path).
const MAX_ADDRESS: usize = 254;

fn mac(key: &[u8], list_id: &str, email_lower: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    m.update(DOMAIN);
    m.update(list_id.as_bytes());
    m.update(b"\0");
    m.update(email_lower.as_bytes());
    m
}

/// The AES-SIV key for v2 tokens: HMAC-SHA256 of the secret over a label, so
/// the secret itself is never used by two schemes. Derived once per send
/// ([`TokenKey`]), not once per token.
fn siv_key(key: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    m.update(b"newsletter-unsubscribe-v2-siv");
    m.finalize().into_bytes().into()
}

fn siv(key: &[u8]) -> Aes128Siv {
    Aes128Siv::new_from_slice(&siv_key(key)).expect("AES-128-SIV takes a 32-byte key")
}

/// The v2 token key derived from the unsubscribe key, for making many tokens.
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn derive(key: &UnsubscribeKey) -> Self {
        TokenKey(siv_key(key.bytes()))
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// The token for `email` on the list `list_id` (v2, opaque).
pub fn make(key: &[u8], list_id: &str, email: &str) -> String {
    seal(siv(key), list_id, email)
}

/// [`make`] with the key derived already.
pub fn make_with(key: &TokenKey, list_id: &str, email: &str) -> String {
    seal(
        Aes128Siv::new_from_slice(&key.0).expect("AES-128-SIV takes a 32-byte key"),
        list_id,
        email,
    )
}

fn seal(mut siv: Aes128Siv, list_id: &str, email: &str) -> String {
    let email = crate::address::key(email);
    let email = &email.as_bytes()[..email.len().min(MAX_ADDRESS)];
    // length byte ‖ address ‖ zero padding to a multiple of 16 (at least 32).
    let padded = (email.len() + 1).div_ceil(16).max(2) * 16;
    let mut plain = Vec::with_capacity(padded);
    plain.push(email.len() as u8);
    plain.extend_from_slice(email);
    plain.resize(padded, 0);
    let sealed = siv
        .encrypt([list_id.as_bytes()], &plain)
        .expect("AES-SIV encrypts any plaintext of 32 bytes or more");
    let mut out = Vec::with_capacity(1 + sealed.len());
    out.push(V2);
    out.extend_from_slice(&sealed);
    URL_SAFE_NO_PAD.encode(out)
}

/// A v1 token (the address readable inside), as messages sent before v2
/// carried. Only tests make these now, to prove old links still work.
pub fn make_v1(key: &[u8], list_id: &str, email: &str) -> String {
    let email = crate::address::key(email);
    let tag = mac(key, list_id, &email).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(email.as_bytes()),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The (lower-cased) address a token was made for, or None when the token is
/// malformed, altered, or made with another key or list id. Accepts v2 and v1.
pub fn verify(key: &[u8], list_id: &str, token: &str) -> Option<String> {
    let token = token.trim();
    if token.contains('.') {
        return verify_v1(key, list_id, token);
    }
    if token.len() > 2 * (MAX_ADDRESS + 64) {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let (&version, sealed) = raw.split_first()?;
    if version != V2 {
        return None;
    }
    let plain = siv(key).decrypt([list_id.as_bytes()], sealed).ok()?;
    let (&len, rest) = plain.split_first()?;
    let email = rest.get(..len as usize)?;
    if rest[len as usize..].iter().any(|&b| b != 0) {
        return None;
    }
    let email = String::from_utf8(email.to_vec()).ok()?;
    (email == crate::address::key(&email)).then_some(email)
}

fn verify_v1(key: &[u8], list_id: &str, token: &str) -> Option<String> {
    let (addr_b64, tag_b64) = token.split_once('.')?;
    let email = String::from_utf8(URL_SAFE_NO_PAD.decode(addr_b64).ok()?).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
    // Only addresses in the form `make_v1` produced can verify.
    if email != crate::address::key(&email) {
        return None;
    }
    mac(key, list_id, &email).verify_slice(&tag).ok()?;
    Some(email)
}

/// `[newsletter] unsubscribe_url` with `{token}` filled in for `email`, or
/// None when no such URL is configured.
pub fn unsubscribe_url(cfg: &Config, key: &UnsubscribeKey, email: &str) -> Option<String> {
    unsubscribe_url_with(cfg, &TokenKey::derive(key), email)
}

/// [`unsubscribe_url`] with the token key derived already (a send makes one per recipient).
pub fn unsubscribe_url_with(cfg: &Config, key: &TokenKey, email: &str) -> Option<String> {
    let template = cfg.newsletter.unsubscribe_url.as_deref()?;
    Some(template.replace("{token}", &make_with(key, &cfg.newsletter.list_id, email)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const LIST: &str = "weekly.example.com";

    #[test]
    fn round_trip_lowercases_hides_the_address_and_is_url_safe() {
        let t = make(KEY, LIST, "Ann.Lee+news@Example.com");
        assert!(
            t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)),
            "{t}"
        );
        assert_eq!(verify(KEY, LIST, &t).as_deref(), Some("ann.lee+news@example.com"));
        assert_eq!(t, make(KEY, LIST, "ann.lee+news@example.com"), "deterministic");
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        assert!(
            !raw.windows(4).any(|w| w == b"ann." || w == b"exam"),
            "the address must not be readable in the token"
        );
        // Padding: addresses of different lengths below 32 bytes give tokens of one length.
        assert_eq!(
            make(KEY, LIST, "a@b.co").len(),
            make(KEY, LIST, "twenty.chars@ex.com").len()
        );
        assert_ne!(make(KEY, LIST, "a@example.com"), make(KEY, LIST, "b@example.com"));
    }

    #[test]
    fn tampered_or_foreign_v2_tokens_fail() {
        let t = make(KEY, LIST, "ann@example.com");
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in [0, 1, 10, raw.len() - 1] {
            raw[i] ^= 1;
            assert_eq!(
                verify(KEY, LIST, &URL_SAFE_NO_PAD.encode(&raw)),
                None,
                "byte {i} flipped"
            );
            raw[i] ^= 1;
        }
        assert_eq!(
            verify(KEY, LIST, &URL_SAFE_NO_PAD.encode(&raw)).as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(
            verify(KEY, LIST, &URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1])),
            None,
            "truncated"
        );
        assert_eq!(verify(b"another key entirely.....", LIST, &t), None, "wrong key");
        assert_eq!(verify(KEY, "other.example.com", &t), None, "wrong list id");
        for junk in ["", "AA", "Ag", "abc", "!!!", &"A".repeat(5000)] {
            assert_eq!(verify(KEY, LIST, junk), None, "{junk:?}");
        }
    }

    #[test]
    fn v1_tokens_already_sent_keep_working() {
        let t = make_v1(KEY, LIST, "Ann@Example.com");
        assert_eq!(
            t, "YW5uQGV4YW1wbGUuY29t.lopxuEUZDQaMw-E857hUWe-0v2kFJm97rRd0-dVj5Q0",
            "the v1 format is frozen: links in delivered messages look like this"
        );
        assert_eq!(verify(KEY, LIST, &t).as_deref(), Some("ann@example.com"));
        let (addr, tag) = t.split_once('.').unwrap();
        let other_addr = URL_SAFE_NO_PAD.encode("bob@example.com");
        assert_eq!(
            verify(KEY, LIST, &format!("{other_addr}.{tag}")),
            None,
            "address swapped"
        );
        assert_eq!(
            verify(KEY, LIST, &format!("{addr}.{}", &tag[..20])),
            None,
            "mac truncated"
        );
        assert_eq!(verify(KEY, "other.example.com", &t), None, "wrong list id");
        for junk in [".", "abc.def", "!!!.???", &format!("{addr}.{tag}.x")] {
            assert_eq!(verify(KEY, LIST, junk), None, "{junk:?}");
        }
        // A v1 token whose address part is not lower-case was never made by us.
        let tag = mac(KEY, "l", "ann@example.com").finalize().into_bytes();
        let t = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("ANN@example.com"),
            URL_SAFE_NO_PAD.encode(tag)
        );
        assert_eq!(verify(KEY, "l", &t), None);
    }

    fn config(extra: &str) -> Config {
        let text =
            format!("[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\nlist_id = \"weekly.example.com\"\n{extra}");
        crate::config::parse(std::path::Path::new("newsletter.toml"), &text).unwrap()
    }

    #[test]
    fn unsubscribe_url_fills_the_token() {
        let key = UnsubscribeKey::new(KEY).unwrap();
        let cfg = config("unsubscribe_url = \"https://example.com/u?token={token}\"\n");
        let url = unsubscribe_url(&cfg, &key, "Ann@example.com").unwrap();
        let token = url.strip_prefix("https://example.com/u?token=").unwrap();
        assert_eq!(verify(KEY, LIST, token).as_deref(), Some("ann@example.com"));
        assert_eq!(unsubscribe_url(&config(""), &key, "ann@example.com"), None);
    }

    #[test]
    fn tokens_with_the_derived_key_are_the_same() {
        let key = UnsubscribeKey::new(KEY).unwrap();
        let derived = TokenKey::derive(&key);
        for email in [
            "a@example.com",
            "Ann.Lee+news@Example.com",
            &format!("{}@x.org", "z".repeat(300)),
        ] {
            assert_eq!(make_with(&derived, LIST, email), make(KEY, LIST, email), "{email}");
        }
        let token = make_with(&derived, LIST, "Ann.Lee+news@Example.com");
        assert_eq!(verify(KEY, LIST, &token).as_deref(), Some("ann.lee+news@example.com"));
    }
}
