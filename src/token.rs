//! Unsubscribe tokens: HMAC-SHA256 over the list id and the lower-cased
//! address, URL-safe base64 without padding. A token carries its address
//! (`b64(address).b64(mac)`) so the endpoint can verify it alone, with no
//! lookup; the MAC is checked in constant time.

use crate::config::Config;
use crate::keys::UnsubscribeKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Separates the fields inside the MAC input, so that ("ab", "c") and
/// ("a", "bc") cannot collide; the prefix versions the scheme.
const DOMAIN: &[u8] = b"newsletter-unsubscribe-v1\0";

fn mac(key: &[u8], list_id: &str, email_lower: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    m.update(DOMAIN);
    m.update(list_id.as_bytes());
    m.update(b"\0");
    m.update(email_lower.as_bytes());
    m
}

/// The token for `email` on the list `list_id`.
pub fn make(key: &[u8], list_id: &str, email: &str) -> String {
    let email = crate::address::key(email);
    let tag = mac(key, list_id, &email).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(email.as_bytes()),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The (lower-cased) address a token was made for, or None when the token is
/// malformed, altered, or made with another key or list id.
pub fn verify(key: &[u8], list_id: &str, token: &str) -> Option<String> {
    let (addr_b64, tag_b64) = token.trim().split_once('.')?;
    let email = String::from_utf8(URL_SAFE_NO_PAD.decode(addr_b64).ok()?).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag_b64).ok()?;
    // Only addresses in the form `make` produces can verify.
    if email != crate::address::key(&email) {
        return None;
    }
    mac(key, list_id, &email).verify_slice(&tag).ok()?;
    Some(email)
}

/// `[newsletter] unsubscribe_url` with `{token}` filled in for `email`, or
/// None when no such URL is configured.
pub fn unsubscribe_url(cfg: &Config, key: &UnsubscribeKey, email: &str) -> Option<String> {
    let template = cfg.newsletter.unsubscribe_url.as_deref()?;
    Some(template.replace("{token}", &make(key.bytes(), &cfg.newsletter.list_id, email)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_lowercases_and_is_url_safe() {
        let t = make(KEY, "weekly.example.com", "Ann.Lee+news@Example.com");
        assert!(
            t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{t}"
        );
        assert_eq!(
            verify(KEY, "weekly.example.com", &t).as_deref(),
            Some("ann.lee+news@example.com")
        );
        assert_eq!(t, make(KEY, "weekly.example.com", "ann.lee+news@example.com"));
    }

    #[test]
    fn tampered_or_foreign_tokens_fail() {
        let t = make(KEY, "weekly.example.com", "ann@example.com");
        let (addr, tag) = t.split_once('.').unwrap();
        let other_addr = URL_SAFE_NO_PAD.encode("bob@example.com");
        assert_eq!(
            verify(KEY, "weekly.example.com", &format!("{other_addr}.{tag}")),
            None,
            "address swapped"
        );
        let mut bad_tag = tag.to_string().into_bytes();
        bad_tag[5] = if bad_tag[5] == b'A' { b'B' } else { b'A' };
        let bad_tag = String::from_utf8(bad_tag).unwrap();
        assert_eq!(
            verify(KEY, "weekly.example.com", &format!("{addr}.{bad_tag}")),
            None,
            "mac altered"
        );
        assert_eq!(
            verify(KEY, "weekly.example.com", &format!("{addr}.{}", &tag[..20])),
            None,
            "mac truncated"
        );
        assert_eq!(
            verify(b"another key entirely.....", "weekly.example.com", &t),
            None,
            "wrong key"
        );
        assert_eq!(verify(KEY, "other.example.com", &t), None, "wrong list id");
        for junk in ["", ".", "abc", "abc.def", "!!!.???", &format!("{addr}.{tag}.x")] {
            assert_eq!(verify(KEY, "weekly.example.com", junk), None, "{junk:?}");
        }
    }

    #[test]
    fn uppercase_address_inside_token_is_refused() {
        // A token whose address part is not lower-case was not made by `make`.
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
        assert_eq!(
            verify(KEY, "weekly.example.com", token).as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(unsubscribe_url(&config(""), &key, "ann@example.com"), None);
    }
}
