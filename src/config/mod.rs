//! `newsletter.toml`: loading, defaults and validation (README "Configuration").
//!
//! Parsing is pure (`parse(path, text)`); `load` reads the file. serde types
//! the sections, one small function per section checks them and writes to one
//! error list, and [`Spans`] keeps where every key was written so that later
//! checks can name the line too.

pub mod bounces;
mod field_names;
mod sections;
pub mod serve;
mod spans;
pub mod theme;
mod unknown;
pub mod verp_address;

pub use bounces::Bounces;
pub use serve::Serve;
pub use spans::Spans;

use crate::diag::{line_col, Diagnostic};
use lettre::message::Mailbox;
use lettre::Address;
use std::path::{Path, PathBuf};

/// The language of the pages and messages the tool writes itself (defined
/// with its texts' rules in `i18n`).
pub use crate::i18n::Language;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    StartTls,
    Tls,
    None,
}

impl Security {
    /// The usual port for this kind of connection: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file; relative paths in `[paths]` are resolved against its folder.
    pub path: PathBuf,
    pub newsletter: Newsletter,
    pub smtp: Smtp,
    pub dkim: Option<Dkim>,
    pub paths: Paths,
    /// `[serve]`: the public endpoint.
    pub serve: Serve,
    /// `[theme]`: the look of the mail.
    pub theme: theme::Theme,
    /// `[bounces]`: thresholds and the IMAP mailbox of `bounces fetch`.
    pub bounces: Bounces,
    /// Where each key was written, for messages about values checked later.
    pub spans: Spans,
}

#[derive(Debug, Clone)]
pub struct Newsletter {
    pub name: String,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub list_id: String,
    /// Template with `{field}` placeholders from the issue's front matter.
    pub subject: String,
    pub archive_url: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub unsubscribe_mailto: Option<Address>,
    pub postal_address: String,
    /// The envelope sender; with VERP, the template's address without a token.
    pub bounce_address: Address,
    /// VERP: `bounce_address` had `{token}`, so each message gets its own
    /// envelope sender.
    pub verp: Option<verp_address::Template>,
    pub max_age_days: u32,
    /// `send --due` never sends an issue dated before this (a back catalogue).
    pub send_after: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Name of the environment variable holding the unsubscribe-token key.
    pub unsubscribe_secret_env: String,
    pub language: Language,
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
    /// Volume caps counted from the journal over the last hour / 24 hours.
    pub max_per_hour: Option<u64>,
    pub max_per_day: Option<u64>,
}

impl Default for Smtp {
    /// The defaults of a `[smtp]` section's keys.
    fn default() -> Self {
        Smtp {
            host: "localhost".into(),
            port: Security::StartTls.default_port(),
            security: Security::StartTls,
            allow_insecure: false,
            username: None,
            password_env: None,
            password_command: None,
            timeout_secs: 30,
            concurrency: 4,
            rate_per_second: 0.0,
            retries: 3,
            helo_name: None,
            max_per_hour: None,
            max_per_day: None,
        }
    }
}

impl Smtp {
    /// Without a `[smtp]` section: a relay on this machine, port 25, no TLS.
    pub fn local_relay() -> Self {
        Smtp {
            security: Security::None,
            port: Security::None.default_port(),
            ..Smtp::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dkim {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
    /// The TXT record published at `selector._domainkey.domain`, for `check`
    /// to compare with the key (`v=DKIM1; k=rsa; p=…`).
    pub dns_record: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Paths {
    pub issues: PathBuf,
    pub subscribers: PathBuf,
    pub state: PathBuf,
    pub outbox: PathBuf,
}

/// Reads and checks the config file. Errors come back as diagnostics naming the line.
pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
    let text = crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES).map_err(|e| {
        let hint = "run from a newsletter folder or pass --config FILE";
        vec![Diagnostic::error(path, 0, 0, format!("cannot read config: {e}")).with_hint(hint)]
    })?;
    parse(path, &text)
}

/// Parses config text; `path` is only used for messages and to resolve `[paths]`.
pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
    let unknown = unknown::keys(path, text);
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let raw: sections::RawConfig = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        let msg = e.message().trim().to_string();
        vec![Diagnostic::error(
            path,
            line,
            col,
            format!("invalid config: {}", unknown::explain(&msg)),
        )]
    })?;
    let mut errors = Errors {
        path,
        spans: Spans::of(text),
        list: Vec::new(),
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let newsletter = sections::newsletter(raw.newsletter, &mut errors);
    let smtp = raw
        .smtp
        .map_or_else(Smtp::local_relay, |s| sections::smtp(s, &mut errors));
    let dkim = raw.dkim.map(|d| sections::dkim(d, &base));
    let paths = sections::paths(raw.paths.unwrap_or_default(), &base);
    let serve = serve::parse(raw.serve, newsletter.unsubscribe_url.as_deref(), &mut errors);
    let theme = theme::parse(raw.theme, text, &mut errors);
    let bounces = bounces::parse(raw.bounces, &base, &mut errors);
    if !errors.list.is_empty() {
        return Err(errors.list);
    }
    Ok(Config {
        path: path.to_path_buf(),
        newsletter,
        smtp,
        dkim,
        paths,
        serve,
        theme,
        bounces,
        spans: errors.spans,
    })
}

/// The one error list the section checks write to.
pub(crate) struct Errors<'a> {
    path: &'a Path,
    spans: Spans,
    list: Vec<Diagnostic>,
}

impl Errors<'_> {
    /// An error about the value of `key` (`"smtp.security"`), at that value.
    pub fn at(&mut self, key: &str, msg: String) {
        let (line, col) = self.spans.value(key);
        self.list.push(Diagnostic::error(self.path, line, col, msg));
    }
}

impl Config {
    /// A diagnostic about `key` (`"newsletter.unsubscribe_url"`) at the line
    /// where it was written (the whole file when it was not written).
    pub fn diagnostic_at(&self, key: &str, error: bool, msg: impl Into<String>) -> Diagnostic {
        let (line, col) = self.spans.key(key);
        if error {
            Diagnostic::error(&self.path, line, col, msg)
        } else {
            Diagnostic::warning(&self.path, line, col, msg)
        }
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
        assert_eq!((c.smtp.host.as_str(), c.smtp.port), ("localhost", 25));
        assert_eq!(c.smtp.security, Security::None);
    }

    #[test]
    fn smtp_section_defaults_to_starttls_on_587() {
        let c = parse(
            Path::new("n.toml"),
            &format!("{MIN}[smtp]\nhost = \"mx.example.com\"\n"),
        )
        .unwrap();
        assert_eq!((c.smtp.security, c.smtp.port), (Security::StartTls, 587));
        let c = parse(Path::new("n.toml"), &format!("{MIN}[smtp]\nsecurity = \"tls\"\n")).unwrap();
        assert_eq!(c.smtp.port, 465);
    }

    #[test]
    fn unknown_key_names_line() {
        let text = format!("{MIN}password = \"hunter2\"\n");
        let e = parse(Path::new("n.toml"), &text).unwrap_err();
        assert_eq!(e[0].line, 4, "{}", e[0]);
        assert!(
            e[0].message
                .starts_with("`password`: secrets never go in newsletter.toml"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn bad_security_and_from_name_their_lines() {
        let text = "[newsletter]\nname = \"N\"\nfrom = \"not an address\"\n[smtp]\nsecurity = \"ssl\"\n";
        let e = parse(Path::new("n.toml"), text).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].line, e[0].col), (3, 8));
        assert!(e[0].message.starts_with("[newsletter] from:"), "{}", e[0]);
        assert_eq!((e[1].line, e[1].col), (5, 12));
        assert!(e[1].message.contains("unknown value \"ssl\""), "{}", e[1]);
    }

    #[test]
    fn diagnostics_name_the_key_line_without_rereading() {
        let text = format!("{MIN}subject = \"{{title}}\"\n");
        let c = parse(Path::new("n.toml"), &text).unwrap();
        let d = c.diagnostic_at("newsletter.subject", true, "bad");
        assert_eq!(d.to_string(), "n.toml:4:1: error: bad");
        let d = c.diagnostic_at("newsletter.archive_url", false, "absent");
        assert_eq!(d.to_string(), "n.toml:0:0: warning: absent");
    }
}
