//! `[bounces]`: when bounces and complaints suppress an address, and the
//! IMAP mailbox `newsletter bounces fetch` reads them from.

use super::Errors;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The `[bounces]` section, with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounces {
    pub thresholds: Thresholds,
    /// The mailbox of `bounces fetch`; None without a `host`.
    pub imap: Option<Imap>,
}

/// How many bounces of each class suppress an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Hard bounces before the address is suppressed as `bounced`.
    pub hard: u32,
    /// Complaints before it is suppressed as `complained`.
    pub complaint: u32,
    /// Soft bounces, each in a different issue, among the last
    /// `soft_window` issues, before it is suppressed as `bounced`.
    pub soft: u32,
    pub soft_window: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            hard: 1,
            complaint: 1,
            soft: 3,
            soft_window: 5,
        }
    }
}

/// How the IMAP connection is secured: implicit TLS (993) or STARTTLS (143).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    Tls,
    StartTls,
}

/// What happens to a message once its bounce or complaint is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// Set `\Seen` and the keyword `$NewsletterProcessed`; the message stays.
    Flag,
    /// Move it to this folder (created if missing).
    Move(String),
    /// Delete it (only when configured so).
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub username: String,
    pub password_env: Option<String>,
    pub password_command: Option<Vec<String>>,
    pub mailbox: String,
    pub processed: Processed,
    pub timeout_secs: u64,
    /// Extra trusted root certificates (PEM), for a server with a private CA.
    pub ca_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBounces {
    hard_threshold: Option<u32>,
    complaint_threshold: Option<u32>,
    soft_threshold: Option<u32>,
    soft_window_issues: Option<u32>,
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    password_command: Option<Vec<String>>,
    mailbox: Option<String>,
    processed: Option<String>,
    move_to: Option<String>,
    timeout_secs: Option<u64>,
    ca_file: Option<String>,
}

/// `[bounces]` with defaults; problems go to `errors` at their line.
pub(super) fn parse(raw: Option<RawBounces>, base: &Path, errors: &mut Errors<'_>) -> Bounces {
    let r = raw.unwrap_or_default();
    let d = Thresholds::default();
    let mut at_least_one = |key: &str, v: Option<u32>, default: u32| match v {
        Some(0) => {
            errors.at(
                &format!("bounces.{key}"),
                format!("[bounces] {key}: must be at least 1"),
            );
            default
        }
        v => v.unwrap_or(default),
    };
    let thresholds = Thresholds {
        hard: at_least_one("hard_threshold", r.hard_threshold, d.hard),
        complaint: at_least_one("complaint_threshold", r.complaint_threshold, d.complaint),
        soft: at_least_one("soft_threshold", r.soft_threshold, d.soft),
        soft_window: at_least_one("soft_window_issues", r.soft_window_issues, d.soft_window),
    };
    if thresholds.soft > thresholds.soft_window {
        let msg = format!(
            "[bounces] soft_threshold: {} soft bounces can never happen within soft_window_issues = {} issues",
            thresholds.soft, thresholds.soft_window
        );
        errors.at("bounces.soft_threshold", msg);
    }
    let imap = imap(r, base, errors);
    Bounces { thresholds, imap }
}

fn imap(r: RawBounces, base: &Path, errors: &mut Errors<'_>) -> Option<Imap> {
    let Some(host) = r.host else {
        for (key, set) in [
            ("username", r.username.is_some()),
            ("password_env", r.password_env.is_some()),
            ("mailbox", r.mailbox.is_some()),
            ("processed", r.processed.is_some()),
        ] {
            if set {
                errors.at(
                    &format!("bounces.{key}"),
                    format!("[bounces] {key}: needs host (the IMAP server)"),
                );
            }
        }
        return None;
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        errors.at("bounces.host", "[bounces] host: must be a host name or address".into());
    }
    let security = match r.security.as_deref() {
        None | Some("tls") => ImapSecurity::Tls,
        Some("starttls") => ImapSecurity::StartTls,
        Some(other) => {
            let msg = format!("[bounces] security: unknown value \"{other}\" (expected \"tls\" or \"starttls\")");
            errors.at("bounces.security", msg);
            ImapSecurity::Tls
        }
    };
    let processed = processed(r.processed.as_deref(), r.move_to, errors);
    let username = r.username.unwrap_or_else(|| {
        errors.at("bounces.host", "[bounces] username: required with host".into());
        String::new()
    });
    if username.contains(['\r', '\n']) {
        errors.at("bounces.username", "[bounces] username: must be one line".into());
    }
    if r.password_env.is_some() == r.password_command.is_some() {
        let msg = "[bounces] password_env or password_command: set exactly one of them".into();
        errors.at("bounces.host", msg);
    }
    let mailbox = r.mailbox.unwrap_or_else(|| "INBOX".into());
    if mailbox.contains(['\r', '\n', '"']) || mailbox.is_empty() {
        errors.at(
            "bounces.mailbox",
            "[bounces] mailbox: must be a folder name without quotes or line breaks".into(),
        );
    }
    if let Processed::Move(f) = &processed {
        if f.contains(['\r', '\n', '"']) || f == &mailbox {
            errors.at(
                "bounces.move_to",
                "[bounces] move_to: must be another folder, without quotes or line breaks".into(),
            );
        }
    }
    Some(Imap {
        port: r.port.unwrap_or(match security {
            ImapSecurity::Tls => 993,
            ImapSecurity::StartTls => 143,
        }),
        host,
        security,
        username,
        password_env: r.password_env,
        password_command: r.password_command,
        mailbox,
        processed,
        timeout_secs: r.timeout_secs.unwrap_or(30).max(1),
        ca_file: r.ca_file.map(|f| crate::files::resolve(base, &f)),
    })
}

/// What happens to processed messages: `processed` and `move_to`.
fn processed(processed: Option<&str>, move_to: Option<String>, errors: &mut Errors<'_>) -> Processed {
    match (processed, move_to) {
        (None | Some("flag"), None) => Processed::Flag,
        (None | Some("move"), Some(folder)) if !folder.trim().is_empty() => Processed::Move(folder),
        (Some("move"), _) => {
            errors.at(
                "bounces.processed",
                "[bounces] processed = \"move\" needs move_to (a folder)".into(),
            );
            Processed::Flag
        }
        (Some("delete"), None) => Processed::Delete,
        (Some(p @ ("flag" | "delete")), Some(_)) => {
            errors.at(
                "bounces.move_to",
                format!("[bounces] move_to: only used with processed = \"move\", not \"{p}\""),
            );
            Processed::Flag
        }
        (Some(other), _) => {
            let msg =
                format!("[bounces] processed: unknown value \"{other}\" (expected \"flag\", \"move\" or \"delete\")");
            errors.at("bounces.processed", msg);
            Processed::Flag
        }
        (None, Some(_)) => {
            errors.at("bounces.move_to", "[bounces] move_to: must name a folder".into());
            Processed::Flag
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse as parse_config;

    const MIN: &str = "[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\n";

    fn errors_of(extra: &str) -> Vec<String> {
        match parse_config(Path::new("n.toml"), &format!("{MIN}{extra}")) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn defaults_without_the_section() {
        let c = parse_config(Path::new("/x/n.toml"), MIN).unwrap();
        assert_eq!(c.bounces.thresholds, Thresholds::default());
        assert_eq!(c.bounces.imap, None);
    }

    #[test]
    fn an_imap_mailbox() {
        let c = parse_config(
            Path::new("/x/n.toml"),
            &format!(
                "{MIN}[bounces]\nsoft_threshold = 2\nhost = \"imap.example.com\"\nusername = \"b\"\npassword_env = \"P\"\nmove_to = \"Done\"\nca_file = \"ca.pem\"\n"
            ),
        )
        .unwrap();
        assert_eq!(c.bounces.thresholds.soft, 2);
        let imap = c.bounces.imap.unwrap();
        assert_eq!((imap.port, imap.security), (993, ImapSecurity::Tls));
        assert_eq!(imap.processed, Processed::Move("Done".into()));
        assert_eq!(imap.mailbox, "INBOX");
        assert_eq!(imap.ca_file, Some(PathBuf::from("/x/ca.pem")));
    }

    #[test]
    fn mistakes_name_their_line() {
        assert_eq!(
            errors_of("[bounces]\nsoft_threshold = 0\n"),
            ["n.toml:5:18: error: [bounces] soft_threshold: must be at least 1"]
        );
        assert_eq!(
            errors_of("[bounces]\nsoft_threshold = 6\n"),
            ["n.toml:5:18: error: [bounces] soft_threshold: 6 soft bounces can never happen within soft_window_issues = 5 issues"]
        );
        let e = errors_of("[bounces]\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\nprocessed = \"move\"\n");
        assert_eq!(
            e,
            ["n.toml:8:13: error: [bounces] processed = \"move\" needs move_to (a folder)"]
        );
        let e = errors_of("[bounces]\nhost = \"h\"\nusername = \"u\"\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].ends_with("set exactly one of them"), "{e:?}");
        let e = errors_of("[bounces]\nusername = \"u\"\n");
        assert_eq!(
            e,
            ["n.toml:5:12: error: [bounces] username: needs host (the IMAP server)"]
        );
    }
}
