//! Unsubscribe tokens: HMAC-SHA256 over the list id and the lower-cased
//! address, URL-safe base64 without padding. A token carries its address
//! (`b64(address).b64(mac)`) so the endpoint can verify it alone, with no
//! lookup; the MAC is checked in constant time.

use crate::config::Config;
use crate::diag::Diagnostic;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Separates the fields inside the MAC input, so that ("ab", "c") and
/// ("a", "bc") cannot collide; the prefix versions the scheme.
const DOMAIN: &[u8] = b"newsletter-unsubscribe-v1\0";

/// Keys shorter than this still work, but `check` warns about them.
pub const MIN_KEY_BYTES: usize = 16;

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
    let email = crate::subscribers::address_key(email);
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
    if email != crate::subscribers::address_key(&email) {
        return None;
    }
    mac(key, list_id, &email).verify_slice(&tag).ok()?;
    Some(email)
}

/// `[newsletter] unsubscribe_url` with `{token}` filled in for `email`, or
/// None when no such URL is configured.
pub fn unsubscribe_url(cfg: &Config, key: &[u8], email: &str) -> Option<String> {
    let template = cfg.newsletter.unsubscribe_url.as_deref()?;
    Some(template.replace("{token}", &make(key, &cfg.newsletter.list_id, email)))
}

/// Problems with the token key, for `newsletter check`: an unsubscribe URL
/// without a key is an error (no message could carry a working link); a
/// short key is a warning.
pub fn check_config(cfg: &Config) -> Vec<Diagnostic> {
    check_key(cfg, cfg.unsubscribe_secret().as_deref())
}

fn check_key(cfg: &Config, key: Option<&[u8]>) -> Vec<Diagnostic> {
    let var = &cfg.newsletter.unsubscribe_secret_env;
    let hint = format!("generate a key with `openssl rand -base64 32` and export it as {var}");
    let line = config_line(cfg, "unsubscribe_url");
    match (cfg.newsletter.unsubscribe_url.is_some(), key) {
        (true, None) => vec![Diagnostic::error(
            &cfg.path,
            line,
            if line == 0 { 0 } else { 1 },
            format!("unsubscribe_url is set but {var} is not"),
        )
        .with_hint(hint)],
        (_, Some(key)) if key.len() < MIN_KEY_BYTES => vec![Diagnostic::warning(
            &cfg.path,
            0,
            0,
            format!("{var} is only {} bytes long; use at least {MIN_KEY_BYTES}", key.len()),
        )
        .with_hint(hint)],
        _ => Vec::new(),
    }
}

/// The line of `key = …` in the config file, or 0 when it cannot be found.
fn config_line(cfg: &Config, key: &str) -> usize {
    let Ok(text) = std::fs::read_to_string(&cfg.path) else {
        return 0;
    };
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(0, |i| i + 1)
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

    fn config(dir: &std::path::Path, extra: &str, secret_env: &str) -> Config {
        let text = format!(
            "[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\nlist_id = \"weekly.example.com\"\n{extra}unsubscribe_secret_env = \"{secret_env}\"\n"
        );
        let path = dir.join("newsletter.toml");
        std::fs::write(&path, &text).unwrap();
        crate::config::parse(&path, &text).unwrap()
    }

    #[test]
    fn unsubscribe_url_fills_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            dir.path(),
            "unsubscribe_url = \"https://example.com/u?token={token}\"\n",
            "UNUSED_VAR",
        );
        let url = unsubscribe_url(&cfg, KEY, "Ann@example.com").unwrap();
        let token = url.strip_prefix("https://example.com/u?token=").unwrap();
        assert_eq!(
            verify(KEY, "weekly.example.com", token).as_deref(),
            Some("ann@example.com")
        );
        let cfg = config(dir.path(), "", "UNUSED_VAR");
        assert_eq!(unsubscribe_url(&cfg, KEY, "ann@example.com"), None);
    }

    #[test]
    fn check_config_wants_a_key_for_the_url() {
        let dir = tempfile::tempdir().unwrap();
        // A variable that is never set: check_config reads the environment.
        let cfg = config(
            dir.path(),
            "unsubscribe_url = \"https://example.com/u?token={token}\"\n",
            "NL_TEST_TOKEN_KEY_A",
        );
        let d = check_config(&cfg);
        assert_eq!(d.len(), 1);
        let shown = d[0].to_string();
        let expected = format!(
            "{}:5:1: error: unsubscribe_url is set but NL_TEST_TOKEN_KEY_A is not\n  hint: generate a key with `openssl rand -base64 32` and export it as NL_TEST_TOKEN_KEY_A",
            cfg.path.display()
        );
        assert_eq!(shown, expected);
        let cfg = config(dir.path(), "", "NL_TEST_TOKEN_KEY_B");
        let d = check_key(&cfg, Some(b"short"));
        assert!(
            d[0].to_string()
                .contains("warning: NL_TEST_TOKEN_KEY_B is only 5 bytes long; use at least 16"),
            "{}",
            d[0]
        );
        let cfg = config(
            dir.path(),
            "unsubscribe_url = \"https://example.com/u?token={token}\"\n",
            "NL_TEST_TOKEN_KEY_C",
        );
        assert!(check_key(&cfg, Some(b"0123456789abcdef0123")).is_empty());
    }
}
