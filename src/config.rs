//! `newsletter.toml`: loading, defaults and validation (DESIGN.md "Configuration").
//!
//! Parsing is pure (`parse(path, text)`); `load` reads the file. Values are
//! checked after serde and every error names the file, line and key.

pub mod theme;

use crate::diag::{line_col, Diagnostic};
use crate::i18n::Language;
use lettre::message::Mailbox;
use lettre::Address;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    StartTls,
    Tls,
    None,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file; relative paths in `[paths]` are resolved against its folder.
    pub path: PathBuf,
    pub newsletter: Newsletter,
    pub smtp: Smtp,
    pub dkim: Option<Dkim>,
    pub paths: Paths,
    pub theme: theme::Theme,
}

#[derive(Debug, Clone)]
pub struct Newsletter {
    pub name: String,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub list_id: String,
    /// Template with `{field}` placeholders: the issue's front matter fields
    /// and the subscriber's (`{name|fallback}`).
    pub subject: String,
    /// Line of `subject` in the config file (0 when not set), for `check`.
    pub subject_line: usize,
    /// The language of labels and `lang`; None: detected per issue.
    pub language: Option<Language>,
    pub archive_url: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub unsubscribe_mailto: Option<Address>,
    pub postal_address: String,
    pub bounce_address: Address,
    pub max_age_days: u32,
    /// Name of the environment variable holding the unsubscribe-token key.
    pub unsubscribe_secret_env: String,
}

#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub allow_insecure: bool,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_command: Option<Vec<String>>,
    pub timeout_secs: u64,
    pub concurrency: usize,
    /// 0 = unlimited.
    pub rate_per_second: f64,
    pub retries: u32,
    /// EHLO name; default: the host name of this machine.
    pub helo_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Dkim {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Paths {
    pub issues: PathBuf,
    pub subscribers: PathBuf,
    pub state: PathBuf,
    pub outbox: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    newsletter: Spanned<RawNewsletter>,
    #[serde(default)]
    smtp: Option<Spanned<RawSmtp>>,
    #[serde(default)]
    dkim: Option<Spanned<RawDkim>>,
    #[serde(default)]
    paths: Option<RawPaths>,
    #[serde(default)]
    theme: Option<theme::RawTheme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNewsletter {
    name: Spanned<String>,
    from: Spanned<String>,
    reply_to: Option<Spanned<String>>,
    list_id: Option<Spanned<String>>,
    subject: Option<Spanned<String>>,
    archive_url: Option<Spanned<String>>,
    unsubscribe_url: Option<Spanned<String>>,
    unsubscribe_mailto: Option<Spanned<String>>,
    postal_address: Option<Spanned<String>>,
    bounce_address: Option<Spanned<String>>,
    max_age_days: Option<u32>,
    unsubscribe_secret_env: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Option<Spanned<String>>,
    port: Option<u16>,
    security: Option<Spanned<String>>,
    allow_insecure: Option<bool>,
    username: Option<Spanned<String>>,
    password_env: Option<String>,
    password_command: Option<Vec<String>>,
    timeout_secs: Option<u64>,
    concurrency: Option<Spanned<usize>>,
    rate_per_second: Option<Spanned<f64>>,
    retries: Option<u32>,
    helo_name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    domain: String,
    selector: String,
    key_file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    issues: Option<String>,
    subscribers: Option<String>,
    state: Option<String>,
    outbox: Option<String>,
}

/// Reads and checks the config file. Errors come back as diagnostics naming the line.
pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = "run from a newsletter folder or pass --config FILE";
        vec![Diagnostic::error(path, 0, 0, format!("cannot read config: {e}")).with_hint(hint)]
    })?;
    parse(path, &text)
}

/// Parses config text; `path` is only used for messages and to resolve `[paths]`.
pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        let msg = e.message().trim().to_string();
        vec![Diagnostic::error(path, line, col, format!("invalid config: {msg}"))]
    })?;
    let mut errors = Vec::new();
    let mut err = |span: std::ops::Range<usize>, msg: String| {
        let (line, col) = line_col(text, span.start);
        errors.push(Diagnostic::error(path, line, col, msg));
    };

    let n = raw.newsletter.into_inner();
    let from = parse_mailbox(n.from.get_ref()).unwrap_or_else(|e| {
        err(n.from.span(), format!("[newsletter] from: {e}"));
        placeholder_mailbox()
    });
    let reply_to = n.reply_to.as_ref().and_then(|r| {
        parse_mailbox(r.get_ref())
            .map_err(|e| err(r.span(), format!("[newsletter] reply_to: {e}")))
            .ok()
    });
    let unsubscribe_mailto = n.unsubscribe_mailto.as_ref().and_then(|r| {
        parse_address(r.get_ref())
            .map_err(|e| err(r.span(), format!("[newsletter] unsubscribe_mailto: {e}")))
            .ok()
    });
    let bounce_address = match &n.bounce_address {
        Some(b) => parse_address(b.get_ref()).unwrap_or_else(|e| {
            err(b.span(), format!("[newsletter] bounce_address: {e}"));
            from.email.clone()
        }),
        None => from.email.clone(),
    };
    for (key, value) in [
        ("name", Some(&n.name)),
        ("list_id", n.list_id.as_ref()),
        ("subject", n.subject.as_ref()),
        ("postal_address", n.postal_address.as_ref()),
    ] {
        if let Some(v) = value {
            if v.get_ref().contains(['\r', '\n']) {
                err(v.span(), format!("[newsletter] {key}: must be one line (no CR or LF)"));
            }
        }
    }
    for (key, value) in [
        ("archive_url", n.archive_url.as_ref()),
        ("unsubscribe_url", n.unsubscribe_url.as_ref()),
    ] {
        if let Some(v) = value {
            if !v.get_ref().starts_with("https://") && !v.get_ref().starts_with("http://") {
                err(v.span(), format!("[newsletter] {key}: must be an http(s) URL"));
            } else if v.get_ref().contains(|c: char| c.is_whitespace() || c.is_control()) {
                err(
                    v.span(),
                    format!("[newsletter] {key}: must not contain spaces or control characters"),
                );
            }
        }
    }
    if let Some(u) = &n.unsubscribe_url {
        if !u.get_ref().contains("{token}") {
            err(u.span(), "[newsletter] unsubscribe_url: must contain {token}".into());
        }
    }
    let language = n.language.as_ref().and_then(|l| {
        let parsed = Language::parse(l.get_ref());
        if parsed.is_none() {
            let msg = format!(
                "[newsletter] language: unknown value \"{}\" (expected \"ko\" or \"en\")",
                l.get_ref()
            );
            err(l.span(), msg);
        }
        parsed
    });
    let subject_line = n.subject.as_ref().map_or(0, |s| line_col(text, s.span().start).0);
    if let Some(Err(e)) = n.subject.as_ref().map(|s| crate::fields::Template::parse(s.get_ref())) {
        err(
            n.subject.as_ref().expect("checked").span(),
            format!("[newsletter] subject: {e}"),
        );
    }
    let theme = theme::validate(raw.theme, text, &mut err);
    let list_id = n
        .list_id
        .map(|s| s.into_inner())
        .unwrap_or_else(|| format!("newsletter.{}", from.email.domain()));

    let smtp = match raw.smtp {
        Some(s) => {
            let s = s.into_inner();
            let security = match &s.security {
                None => Security::StartTls,
                Some(v) => match v.get_ref().as_str() {
                    "starttls" => Security::StartTls,
                    "tls" => Security::Tls,
                    "none" => Security::None,
                    other => {
                        err(
                            v.span(),
                            format!("[smtp] security: unknown value \"{other}\" (expected \"starttls\", \"tls\" or \"none\")"),
                        );
                        Security::StartTls
                    }
                },
            };
            let concurrency = s.concurrency.map_or(4, |c| {
                if *c.get_ref() == 0 {
                    err(c.span(), "[smtp] concurrency: must be at least 1".into());
                }
                *c.get_ref()
            });
            let rate = s.rate_per_second.map_or(0.0, |r| {
                if !(r.get_ref().is_finite() && *r.get_ref() >= 0.0) {
                    err(
                        r.span(),
                        "[smtp] rate_per_second: must be 0 (unlimited) or positive".into(),
                    );
                }
                *r.get_ref()
            });
            if let Some(h) = &s.host {
                if h.get_ref().is_empty() || h.get_ref().contains(|c: char| c.is_whitespace()) {
                    err(h.span(), "[smtp] host: must be a host name or address".into());
                }
            }
            if let Some(u) = &s.username {
                if u.get_ref().contains(['\r', '\n']) {
                    err(u.span(), "[smtp] username: must be one line".into());
                }
            }
            Smtp {
                host: s.host.map_or_else(|| "localhost".into(), |h| h.into_inner()),
                port: s.port.unwrap_or(match security {
                    Security::Tls => 465,
                    Security::StartTls => 587,
                    Security::None => 25,
                }),
                security,
                allow_insecure: s.allow_insecure.unwrap_or(false),
                username: s.username.map(|u| u.into_inner()),
                password_env: s.password_env,
                password_command: s.password_command,
                timeout_secs: s.timeout_secs.unwrap_or(30),
                concurrency,
                rate_per_second: rate,
                retries: s.retries.unwrap_or(3),
                helo_name: s.helo_name.map(|h| h.into_inner()),
            }
        }
        None => Smtp {
            host: "localhost".into(),
            port: 25,
            security: Security::None,
            allow_insecure: false,
            username: None,
            password_env: None,
            password_command: None,
            timeout_secs: 30,
            concurrency: 4,
            rate_per_second: 0.0,
            retries: 3,
            helo_name: None,
        },
    };

    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve = |p: Option<String>, default: &str| -> PathBuf {
        let p = PathBuf::from(p.unwrap_or_else(|| default.to_string()));
        if p.is_absolute() {
            p
        } else {
            base.join(p)
        }
    };
    let rp = raw.paths.unwrap_or(RawPaths {
        issues: None,
        subscribers: None,
        state: None,
        outbox: None,
    });
    let paths = Paths {
        issues: resolve(rp.issues, "issues"),
        subscribers: resolve(rp.subscribers, "subscribers"),
        state: resolve(rp.state, "state"),
        outbox: resolve(rp.outbox, "outbox"),
    };
    let dkim = raw.dkim.map(|d| {
        let d = d.into_inner();
        Dkim {
            domain: d.domain,
            selector: d.selector,
            key_file: resolve(Some(d.key_file), ""),
        }
    });

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        path: path.to_path_buf(),
        newsletter: Newsletter {
            name: n.name.into_inner(),
            from,
            reply_to,
            list_id,
            subject: n.subject.map_or_else(|| "{title}".into(), |s| s.into_inner()),
            subject_line,
            language,
            archive_url: n.archive_url.map(|s| s.into_inner()),
            unsubscribe_url: n.unsubscribe_url.map(|s| s.into_inner()),
            unsubscribe_mailto,
            postal_address: n.postal_address.map(|s| s.into_inner()).unwrap_or_default(),
            bounce_address,
            max_age_days: n.max_age_days.unwrap_or(7),
            unsubscribe_secret_env: n
                .unsubscribe_secret_env
                .map_or_else(|| "NEWSLETTER_UNSUBSCRIBE_SECRET".into(), |s| s.into_inner()),
        },
        smtp,
        dkim,
        paths,
        theme,
    })
}

fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    if s.contains(['\r', '\n']) {
        return Err("must be one line (no CR or LF)".into());
    }
    s.parse::<Mailbox>()
        .map_err(|e| format!("\"{s}\" is not a valid address ({e})"))
}

fn parse_address(s: &str) -> Result<Address, String> {
    if s.contains(['\r', '\n']) {
        return Err("must be one line (no CR or LF)".into());
    }
    s.parse::<Address>()
        .map_err(|e| format!("\"{s}\" is not a valid address ({e})"))
}

fn placeholder_mailbox() -> Mailbox {
    Mailbox::new(
        None,
        Address::new("invalid", "invalid.invalid").expect("valid placeholder"),
    )
}

impl Config {
    /// Reads the unsubscribe-token key from the environment, if set and non-empty.
    pub fn unsubscribe_secret(&self) -> Option<Vec<u8>> {
        std::env::var(&self.newsletter.unsubscribe_secret_env)
            .ok()
            .filter(|s| !s.is_empty())
            .map(String::into_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "[newsletter]\nname = \"N\"\nfrom = \"N <n@example.com>\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(Path::new("/x/newsletter.toml"), MIN).unwrap();
        assert_eq!(c.newsletter.subject, "{title}");
        assert_eq!(c.newsletter.bounce_address.to_string(), "n@example.com");
        assert_eq!(c.paths.issues, PathBuf::from("/x/issues"));
        assert_eq!(c.newsletter.list_id, "newsletter.example.com");
    }

    #[test]
    fn unknown_key_names_line() {
        let text = format!("{MIN}password = \"hunter2\"\n");
        let e = parse(Path::new("n.toml"), &text).unwrap_err();
        assert_eq!(e[0].line, 4, "{}", e[0]);
        assert!(e[0].message.contains("unknown field `password`"), "{}", e[0]);
    }

    #[test]
    fn bad_security_and_from_name_their_lines() {
        let text = "[newsletter]\nname = \"N\"\nfrom = \"not an address\"\n[smtp]\nsecurity = \"ssl\"\n";
        let e = parse(Path::new("n.toml"), text).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, 3);
        assert!(e[0].message.starts_with("[newsletter] from:"), "{}", e[0]);
        assert_eq!(e[1].line, 5);
        assert!(e[1].message.contains("unknown value \"ssl\""), "{}", e[1]);
    }
}
