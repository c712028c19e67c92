//! The secrets a message needs, read once at the edge: the DKIM signing key
//! (a file) and the unsubscribe-token key (an environment variable). The
//! message builder gets them passed in and never reads either itself.
//!
//! The rules about the unsubscribe key live here and nowhere else: a
//! configured `unsubscribe_url` needs a key, and a key shorter than 128 bits
//! is refused by every command that uses one.

use crate::config::{Config, Dkim};
use crate::diag::Diagnostic;
use crate::dkim::DkimKey;

/// The shortest unsubscribe key accepted: 128 bits.
pub const MIN_KEY_BYTES: usize = 16;

/// The key that signs unsubscribe tokens; at least [`MIN_KEY_BYTES`] long.
#[derive(Clone)]
pub struct UnsubscribeKey(Vec<u8>);

impl UnsubscribeKey {
    /// For tests and tools that hold a key already; the length rule still applies.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, String> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the unsubscribe key is only {} bytes long; use at least {MIN_KEY_BYTES} (128 bits)",
                bytes.len()
            ));
        }
        Ok(UnsubscribeKey(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for UnsubscribeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeKey(<redacted>)")
    }
}

/// The key of VERP tokens, derived from the unsubscribe secret so that one
/// secret serves both and neither use weakens the other.
#[derive(Clone)]
pub struct VerpKey([u8; 32]);

impl std::fmt::Debug for VerpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerpKey(<redacted>)")
    }
}

impl VerpKey {
    /// Derived from the unsubscribe key, so one secret serves both and
    /// neither use weakens the other.
    pub fn derive(secret: &UnsubscribeKey) -> VerpKey {
        use hmac::{Hmac, KeyInit, Mac};
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.bytes()).expect("HMAC takes any key");
        m.update(b"newsletter-verp-v1");
        VerpKey(m.finalize().into_bytes().into())
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Everything secret a message builder needs.
#[derive(Debug, Default)]
pub struct Keys {
    pub dkim: Option<DkimKey>,
    pub unsubscribe: Option<UnsubscribeKey>,
    /// The key of VERP tokens (derived from the unsubscribe key), when
    /// `bounce_address` has `{token}`.
    pub verp: Option<VerpKey>,
}

impl Keys {
    /// Reads the DKIM key file and the unsubscribe key from the environment.
    /// Problems come back as diagnostics at the config line they concern.
    pub fn load(cfg: &Config) -> Result<Keys, Vec<Diagnostic>> {
        let var = &cfg.newsletter.unsubscribe_secret_env;
        let secret = std::env::var(var).ok().filter(|s| !s.is_empty());
        let unsubscribe = unsubscribe_key(cfg, secret.as_deref());
        let dkim = cfg.dkim.as_ref().map(|d| load_dkim(cfg, d)).transpose();
        let unsubscribe = unsubscribe.and_then(|u| verp_needs_key(cfg, u));
        match (unsubscribe, dkim) {
            (Ok(unsubscribe), Ok(dkim)) => Ok(Keys {
                dkim,
                verp: cfg
                    .newsletter
                    .verp
                    .as_ref()
                    .and(unsubscribe.as_ref())
                    .map(VerpKey::derive),
                unsubscribe,
            }),
            (u, d) => Err(u.err().into_iter().chain(d.err()).collect()),
        }
    }

    /// [`load`](Self::load), and the unsubscribe key must be there even
    /// without an `unsubscribe_url` (for commands that check tokens).
    pub fn require_unsubscribe(cfg: &Config) -> Result<UnsubscribeKey, Vec<Diagnostic>> {
        let var = &cfg.newsletter.unsubscribe_secret_env;
        let keys = Keys::load(cfg)?;
        keys.unsubscribe.ok_or_else(|| {
            let msg = format!("{var} is not set; it holds the key that signs unsubscribe tokens");
            vec![cfg
                .diagnostic_at("newsletter.unsubscribe_secret_env", true, msg)
                .with_hint(key_hint(var))]
        })
    }
}

/// The one rule for the unsubscribe key, given the variable's value.
pub fn unsubscribe_key(cfg: &Config, secret: Option<&str>) -> Result<Option<UnsubscribeKey>, Diagnostic> {
    let var = &cfg.newsletter.unsubscribe_secret_env;
    match secret {
        None if cfg.newsletter.unsubscribe_url.is_some() => {
            let msg = format!("unsubscribe_url is set but {var} is not");
            Err(cfg
                .diagnostic_at("newsletter.unsubscribe_url", true, msg)
                .with_hint(key_hint(var)))
        }
        None => Ok(None),
        Some(s) => UnsubscribeKey::new(s.as_bytes()).map(Some).map_err(|_| {
            let msg = format!(
                "{var} is only {} bytes long; use at least {MIN_KEY_BYTES} (128 bits)",
                s.len()
            );
            cfg.diagnostic_at("newsletter.unsubscribe_secret_env", true, msg)
                .with_hint(key_hint(var))
        }),
    }
}

/// The VERP key alone (for reading bounces, which need no DKIM key): None
/// without VERP; with VERP, the unsubscribe secret must be set and long enough.
pub fn verp_key(cfg: &Config) -> Result<Option<VerpKey>, Vec<Diagnostic>> {
    if cfg.newsletter.verp.is_none() {
        return Ok(None);
    }
    let secret = std::env::var(&cfg.newsletter.unsubscribe_secret_env)
        .ok()
        .filter(|s| !s.is_empty());
    let key = unsubscribe_key(cfg, secret.as_deref()).and_then(|k| verp_needs_key(cfg, k));
    match key {
        Ok(k) => Ok(k.as_ref().map(VerpKey::derive)),
        Err(d) => Err(vec![d]),
    }
}

/// VERP tokens are keyed with the unsubscribe secret: a `{token}` in
/// `bounce_address` needs it as much as an `unsubscribe_url` does.
fn verp_needs_key(cfg: &Config, key: Option<UnsubscribeKey>) -> Result<Option<UnsubscribeKey>, Diagnostic> {
    if key.is_none() && cfg.newsletter.verp.is_some() {
        let var = &cfg.newsletter.unsubscribe_secret_env;
        let msg = format!("bounce_address has {{token}} (VERP) but {var} is not set; it keys the tokens");
        return Err(cfg
            .diagnostic_at("newsletter.bounce_address", true, msg)
            .with_hint(key_hint(var)));
    }
    Ok(key)
}

fn key_hint(var: &str) -> String {
    format!("generate a key with `openssl rand -base64 32` and export it as {var}")
}

pub(crate) fn load_dkim(cfg: &Config, d: &Dkim) -> Result<DkimKey, Diagnostic> {
    let file = d.key_file.display();
    let error = |msg: String| cfg.diagnostic_at("dkim.key_file", true, msg);
    let pem = crate::files::read_text(&d.key_file, crate::files::MAX_KEY_BYTES)
        .map_err(|e| error(format!("[dkim] key_file {file}: {e}")))?;
    DkimKey::from_pem(&pem, &d.domain, &d.selector).map_err(|e| error(format!("[dkim] key_file {file}: {e}")))
}

/// Whether a DKIM TXT record (`v=DKIM1; k=rsa; p=…`, as published, quotes
/// and line breaks of a zone file allowed) carries the public key `p`
/// (from [`crate::dkim::public_key`]). An error says what is wrong with the record.
pub fn dkim_record_matches(record: &str, public: &str) -> Result<bool, String> {
    let flat: String = record.chars().filter(|c| !c.is_whitespace() && *c != '"').collect();
    let tags: Vec<(&str, &str)> = flat
        .split(';')
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.split_once('='))
        .collect();
    let tag = |name: &str| tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
    if let Some(k) = tag("k").filter(|k| !k.eq_ignore_ascii_case("rsa")) {
        return Err(format!(
            "the record is for a k={k} key; newsletter signs with RSA (k=rsa)"
        ));
    }
    match tag("p") {
        None => Err("the record has no p= tag (the public key)".into()),
        Some("") => Err("the record's p= is empty: that means the key was revoked".into()),
        Some(p) => Ok(p == public),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        let text =
            format!("[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\nlist_id = \"weekly.example.com\"\n{extra}");
        crate::config::parse(Path::new("newsletter.toml"), &text).unwrap()
    }

    const URL: &str = "unsubscribe_url = \"https://example.com/u?token={token}\"\n";

    #[test]
    fn a_url_needs_a_key() {
        let cfg = config(URL);
        let d = unsubscribe_key(&cfg, None).unwrap_err();
        assert_eq!(
            d.to_string(),
            "newsletter.toml:5:1: error: unsubscribe_url is set but NEWSLETTER_UNSUBSCRIBE_SECRET is not\n  \
             hint: generate a key with `openssl rand -base64 32` and export it as NEWSLETTER_UNSUBSCRIBE_SECRET"
        );
        assert!(unsubscribe_key(&config(""), None).unwrap().is_none());
    }

    #[test]
    fn a_short_key_is_refused_with_or_without_a_url() {
        for extra in [URL, "unsubscribe_secret_env = \"K\"\n"] {
            let cfg = config(extra);
            let d = unsubscribe_key(&cfg, Some("short")).unwrap_err();
            assert!(d.is_error());
            assert!(
                d.message.ends_with("is only 5 bytes long; use at least 16 (128 bits)"),
                "{d}"
            );
        }
        let cfg = config("unsubscribe_secret_env = \"K\"\n");
        let d = unsubscribe_key(&cfg, Some("short")).unwrap_err();
        assert_eq!((d.line, d.col), (5, 1), "at the line naming the variable");
        let key = unsubscribe_key(&config(URL), Some("0123456789abcdef"))
            .unwrap()
            .unwrap();
        assert_eq!(key.bytes(), b"0123456789abcdef");
        assert_eq!(format!("{key:?}"), "UnsubscribeKey(<redacted>)");
    }

    const TEST_KEY: &str = include_str!("../tests/integration/fixtures/dkim/test-key.pem");
    const TEST_RECORD: &str = include_str!("../tests/integration/fixtures/dkim/test-key.record");

    #[test]
    fn the_public_key_matches_what_openssl_computes() {
        let p = crate::dkim::public_key(TEST_KEY).unwrap();
        assert_eq!(TEST_RECORD.trim(), format!("v=DKIM1; k=rsa; p={p}"));
        assert_eq!(dkim_record_matches(TEST_RECORD, &p), Ok(true));
        // As a zone file writes it: quoted and split.
        let (head, tail) = TEST_RECORD.trim().split_at(40);
        assert_eq!(dkim_record_matches(&format!("\"{head}\"\n  \"{tail}\""), &p), Ok(true));
        let other = TEST_RECORD.trim().replacen("p=MI", "p=MJ", 1);
        assert_eq!(dkim_record_matches(&other, &p), Ok(false));
        assert_eq!(
            dkim_record_matches("v=DKIM1; k=rsa; p=", &p).unwrap_err(),
            "the record's p= is empty: that means the key was revoked"
        );
        assert!(dkim_record_matches("v=DKIM1; k=ed25519; p=abc", &p).is_err());
        assert!(crate::dkim::public_key("not a key").is_err());
    }

    #[test]
    fn verp_needs_the_key() {
        let cfg = config("bounce_address = \"bounces+{token}@example.com\"\n");
        let d = verp_needs_key(&cfg, None).unwrap_err();
        assert_eq!(
            d.to_string().lines().next().unwrap(),
            "newsletter.toml:5:1: error: bounce_address has {token} (VERP) but NEWSLETTER_UNSUBSCRIBE_SECRET is not set; it keys the tokens"
        );
        let key = UnsubscribeKey::new(b"0123456789abcdef".to_vec()).unwrap();
        assert!(verp_needs_key(&cfg, Some(key)).unwrap().is_some());
        assert!(verp_needs_key(&config(""), None).unwrap().is_none());
    }

    #[test]
    fn an_unreadable_dkim_key_names_the_config_line() {
        let cfg = config("[dkim]\ndomain = \"example.com\"\nselector = \"s\"\nkey_file = \"/nonexistent/dkim.pem\"\n");
        let d = load_dkim(&cfg, cfg.dkim.as_ref().unwrap()).unwrap_err();
        assert!(
            d.to_string()
                .starts_with("newsletter.toml:8:1: error: [dkim] key_file /nonexistent/dkim.pem: "),
            "{d}"
        );
    }
}
