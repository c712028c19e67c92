//! The sections of `newsletter.toml` as serde reads them, and one function
//! per section that checks the values and fills in the defaults.

use super::{Dkim, Errors, Language, Newsletter, Paths, Security, Smtp};
use lettre::message::Mailbox;
use lettre::Address;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub newsletter: RawNewsletter,
    #[serde(default)]
    pub smtp: Option<RawSmtp>,
    #[serde(default)]
    pub dkim: Option<RawDkim>,
    #[serde(default)]
    pub paths: Option<RawPaths>,
    #[serde(default)]
    pub serve: Option<super::serve::RawServe>,
    #[serde(default)]
    pub theme: Option<super::theme::RawTheme>,
    #[serde(default)]
    pub bounces: Option<super::bounces::RawBounces>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewsletter {
    name: String,
    from: String,
    reply_to: Option<String>,
    list_id: Option<String>,
    subject: Option<String>,
    archive_url: Option<String>,
    unsubscribe_url: Option<String>,
    unsubscribe_mailto: Option<String>,
    postal_address: Option<String>,
    bounce_address: Option<String>,
    max_age_days: Option<u32>,
    send_after: Option<toml::Value>,
    unsubscribe_secret_env: Option<String>,
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    allow_insecure: Option<bool>,
    username: Option<String>,
    password_env: Option<String>,
    password_command: Option<Vec<String>>,
    timeout_secs: Option<u64>,
    concurrency: Option<usize>,
    rate_per_second: Option<f64>,
    retries: Option<u32>,
    helo_name: Option<String>,
    max_per_hour: Option<u64>,
    max_per_day: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDkim {
    domain: String,
    selector: String,
    key_file: String,
    dns_record: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    issues: Option<String>,
    subscribers: Option<String>,
    state: Option<String>,
    outbox: Option<String>,
}

pub(super) fn newsletter(n: RawNewsletter, errors: &mut Errors<'_>) -> Newsletter {
    let from = parse_mailbox(&n.from).unwrap_or_else(|e| {
        errors.at("newsletter.from", format!("[newsletter] from: {e}"));
        Mailbox::new(
            None,
            Address::new("invalid", "invalid.invalid").expect("valid placeholder"),
        )
    });
    let mut optional_mailbox = |key: &str, value: Option<String>| {
        let value = value?;
        parse_mailbox(&value)
            .map_err(|e| errors.at(&format!("newsletter.{key}"), format!("[newsletter] {key}: {e}")))
            .ok()
    };
    let reply_to = optional_mailbox("reply_to", n.reply_to);
    let unsubscribe_mailto = optional_address(errors, "unsubscribe_mailto", n.unsubscribe_mailto);
    let (bounce_address, verp) = bounce_address(errors, n.bounce_address, &from);
    for (key, value) in [
        ("name", Some(&n.name)),
        ("list_id", n.list_id.as_ref()),
        ("subject", n.subject.as_ref()),
        ("postal_address", n.postal_address.as_ref()),
    ] {
        if let Some(problem) = value.and_then(|v| crate::mime_header::text_problem(v)) {
            let msg = format!("[newsletter] {key}: must be one line of text, without {problem}");
            errors.at(&format!("newsletter.{key}"), msg);
        }
    }
    if let Some(problem) = n.list_id.as_deref().and_then(list_id_problem) {
        errors.at("newsletter.list_id", format!("[newsletter] list_id: {problem}"));
    }
    for (key, mailbox) in [("name", Some(n.name.as_str())), ("from", from.name.as_deref())] {
        if mailbox.is_some_and(|v| v.chars().count() > MAX_NAME_CHARS) {
            let msg = format!(
                "[newsletter] {key}: the name is longer than {MAX_NAME_CHARS} characters, too long for a mail header"
            );
            errors.at(&format!("newsletter.{key}"), msg);
        }
    }
    if let Some(Err(e)) = n.subject.as_deref().map(crate::fields::Template::parse) {
        errors.at("newsletter.subject", format!("[newsletter] subject: {e}"));
    }
    let send_after = n.send_after.and_then(|v| send_after(errors, &v));
    check_url(errors, "archive_url", n.archive_url.as_deref());
    check_url(errors, "unsubscribe_url", n.unsubscribe_url.as_deref());
    if n.unsubscribe_url.as_ref().is_some_and(|u| !u.contains("{token}")) {
        let msg = "[newsletter] unsubscribe_url: must contain {token}".to_string();
        errors.at("newsletter.unsubscribe_url", msg);
    }
    let language = match n.language.as_deref() {
        None | Some("en") => Language::En,
        Some("ko") => Language::Ko,
        Some(other) => {
            let msg = format!("[newsletter] language: unknown value \"{other}\" (expected \"ko\" or \"en\")");
            errors.at("newsletter.language", msg);
            Language::En
        }
    };
    Newsletter {
        language,
        list_id: n
            .list_id
            .unwrap_or_else(|| format!("newsletter.{}", from.email.domain())),
        name: n.name,
        from,
        reply_to,
        subject: n.subject.unwrap_or_else(|| "{title}".into()),
        archive_url: n.archive_url,
        unsubscribe_url: n.unsubscribe_url,
        unsubscribe_mailto,
        postal_address: n.postal_address.unwrap_or_default(),
        bounce_address,
        verp,
        max_age_days: n.max_age_days.unwrap_or(7),
        send_after,
        unsubscribe_secret_env: n
            .unsubscribe_secret_env
            .unwrap_or_else(|| "NEWSLETTER_UNSUBSCRIBE_SECRET".into()),
    }
}

/// A TOML date or date-time (or the same as a string); a date means midnight UTC.
fn send_after(errors: &mut Errors<'_>, v: &toml::Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let raw = match v {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    match crate::issue::parse_date(&raw) {
        Ok((t, _)) => Some(t),
        Err(why) => {
            let msg = format!(
                "[newsletter] send_after: {raw:?} {why}; write a date (2026-11-01) or a date-time with its offset (2026-11-01T09:00:00+09:00)"
            );
            errors.at("newsletter.send_after", msg);
            None
        }
    }
}

/// The longest display name (list name, sender name) a header gets.
const MAX_NAME_CHARS: usize = 200;

/// RFC 2919: the List-Id is a dot-atom with at least two labels (`weekly.example.com`).
fn list_id_problem(id: &str) -> Option<String> {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let labels: Vec<&str> = id.split('.').collect();
    if id.len() > 255 {
        Some("must be at most 255 characters".into())
    } else if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || !l.chars().all(atext)) {
        Some(format!(
            "\"{}\" is not a list id: use dot-separated letters, digits and dashes, like weekly.example.com",
            id.escape_debug()
        ))
    } else {
        None
    }
}

fn optional_address(errors: &mut Errors<'_>, key: &str, value: Option<String>) -> Option<Address> {
    let value = value?;
    parse_address(&value)
        .map_err(|e| errors.at(&format!("newsletter.{key}"), format!("[newsletter] {key}: {e}")))
        .ok()
}

/// The envelope sender, and the VERP template when it has `{token}`.
fn bounce_address(
    errors: &mut Errors<'_>,
    value: Option<String>,
    from: &Mailbox,
) -> (Address, Option<super::verp_address::Template>) {
    match value {
        Some(v) if v.contains(super::verp_address::PLACEHOLDER) => {
            match super::verp_address::Template::parse(&v).and_then(|t| Ok((t.plain()?, t))) {
                Ok((plain, t)) => (plain, Some(t)),
                Err(e) => {
                    errors.at("newsletter.bounce_address", format!("[newsletter] bounce_address: {e}"));
                    (from.email.clone(), None)
                }
            }
        }
        v => (
            optional_address(errors, "bounce_address", v).unwrap_or_else(|| from.email.clone()),
            None,
        ),
    }
}

fn check_url(errors: &mut Errors<'_>, key: &str, value: Option<&str>) {
    let Some(v) = value else { return };
    let msg = if !v.starts_with("https://") && !v.starts_with("http://") {
        "must be an http(s) URL"
    } else if v.contains(|c: char| c.is_whitespace() || c.is_control()) {
        "must not contain spaces or control characters"
    } else {
        return;
    };
    errors.at(&format!("newsletter.{key}"), format!("[newsletter] {key}: {msg}"));
}

pub(super) fn smtp(s: RawSmtp, errors: &mut Errors<'_>) -> Smtp {
    let d = Smtp::default();
    let security = match s.security.as_deref() {
        None | Some("starttls") => Security::StartTls,
        Some("tls") => Security::Tls,
        Some("none") => Security::None,
        Some(other) => {
            let msg =
                format!("[smtp] security: unknown value \"{other}\" (expected \"starttls\", \"tls\" or \"none\")");
            errors.at("smtp.security", msg);
            Security::StartTls
        }
    };
    if s.concurrency == Some(0) {
        errors.at("smtp.concurrency", "[smtp] concurrency: must be at least 1".into());
    }
    if s.rate_per_second.is_some_and(|r| !(r.is_finite() && r >= 0.0)) {
        let msg = "[smtp] rate_per_second: must be 0 (unlimited) or positive".into();
        errors.at("smtp.rate_per_second", msg);
    }
    if s.host
        .as_ref()
        .is_some_and(|h| h.is_empty() || h.contains(char::is_whitespace))
    {
        errors.at("smtp.host", "[smtp] host: must be a host name or address".into());
    }
    for (key, cap) in [("max_per_hour", s.max_per_hour), ("max_per_day", s.max_per_day)] {
        if cap == Some(0) {
            let msg = format!("[smtp] {key}: must be at least 1 (leave it out for no cap)");
            errors.at(&format!("smtp.{key}"), msg);
        }
    }
    if s.username.as_ref().is_some_and(|u| u.contains(['\r', '\n'])) {
        errors.at("smtp.username", "[smtp] username: must be one line".into());
    }
    Smtp {
        host: s.host.unwrap_or(d.host),
        port: s.port.unwrap_or(security.default_port()),
        security,
        allow_insecure: s.allow_insecure.unwrap_or(d.allow_insecure),
        username: s.username,
        password_env: s.password_env,
        password_command: s.password_command,
        timeout_secs: s.timeout_secs.unwrap_or(d.timeout_secs),
        concurrency: s.concurrency.unwrap_or(d.concurrency),
        rate_per_second: s.rate_per_second.unwrap_or(d.rate_per_second),
        retries: s.retries.unwrap_or(d.retries),
        helo_name: s.helo_name,
        max_per_hour: s.max_per_hour,
        max_per_day: s.max_per_day,
    }
}

pub(super) fn dkim(d: RawDkim, base: &Path) -> Dkim {
    Dkim {
        domain: d.domain,
        selector: d.selector,
        key_file: crate::files::resolve(base, &d.key_file),
        dns_record: d.dns_record,
    }
}

pub(super) fn paths(p: RawPaths, base: &Path) -> Paths {
    let or = |p: Option<String>, default: &str| crate::files::resolve(base, p.as_deref().unwrap_or(default));
    Paths {
        issues: or(p.issues, "issues"),
        subscribers: or(p.subscribers, "subscribers"),
        state: or(p.state, "state"),
        outbox: or(p.outbox, "outbox"),
    }
}

fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    if s.contains(['\r', '\n']) {
        return Err("must be one line (no CR or LF)".into());
    }
    crate::address::parse_mailbox(s)
}

fn parse_address(s: &str) -> Result<Address, String> {
    if s.contains(['\r', '\n']) {
        return Err("must be one line (no CR or LF)".into());
    }
    crate::address::parse(s)
}

/// The keys each known section accepts, read from the serde structs
/// themselves so the list never drifts from what is parsed. A section not
/// listed here is left to serde's own unknown-field error.
pub(super) fn section_keys(section: &str) -> Option<&'static [&'static str]> {
    match section {
        "newsletter" => super::field_names::fields::<RawNewsletter>(),
        "smtp" => super::field_names::fields::<RawSmtp>(),
        "dkim" => super::field_names::fields::<RawDkim>(),
        "paths" => super::field_names::fields::<RawPaths>(),
        "serve" => super::field_names::fields::<super::serve::RawServe>(),
        "theme" => super::field_names::fields::<super::theme::RawTheme>(),
        _ => None,
    }
}

/// The top-level sections.
pub(super) fn sections() -> &'static [&'static str] {
    super::field_names::fields::<RawConfig>().unwrap_or(&[])
}
