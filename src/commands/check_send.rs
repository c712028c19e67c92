//! What `newsletter check` verifies of the sending side, so that a clean
//! check means `send` will not stop on its settings: the SMTP credentials
//! and security rules, the password's variable, the DKIM key against its
//! DNS record, addresses that parse but will not deliver, and with
//! `--smtp` a real connection (TLS and AUTH, nothing sent; like
//! `swaks --quit-after AUTH`).

use crate::config::{Config, Security};
use crate::diag::Diagnostic;
use crate::transport::smtp::{self, SmtpConnection, SmtpSettings, Stage};

/// Problems with `[smtp]` that would stop a live send. `live`: `check
/// --smtp`, where a missing password is an error, not a warning.
pub(super) fn smtp(cfg: &Config, live: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some((key, msg)) = smtp::credential_problem(&cfg.smtp) {
        out.push(cfg.diagnostic_at(key, true, msg));
    } else if let Some(var) = &cfg.smtp.password_env {
        if std::env::var(var).map_or(true, |v| v.is_empty()) {
            let msg =
                format!("[smtp] password_env: {var} is not set; a live send needs it (dry runs and previews do not)");
            out.push(cfg.diagnostic_at("smtp.password_env", live, msg).with_hint(format!(
                "export {var}=… where send runs, or name a command with password_command"
            )));
        }
    }
    if let Some(msg) = smtp::security_problem(&cfg.smtp) {
        out.push(cfg.diagnostic_at("smtp.security", true, msg));
    }
    out
}

/// The DKIM record check, and the record to publish when none is given.
pub(super) fn dkim(cfg: &Config) -> (Vec<Diagnostic>, Option<String>) {
    let Some(d) = &cfg.dkim else {
        return (Vec::new(), None);
    };
    // An unreadable key is reported by `Keys::load`.
    let Ok(pem) = crate::files::read_text(&d.key_file, crate::files::MAX_KEY_BYTES) else {
        return (Vec::new(), None);
    };
    let Ok(public) = crate::dkim::public_key(&pem) else {
        return (Vec::new(), None);
    };
    let name = format!("{}._domainkey.{}", d.selector, d.domain);
    let publish = format!("v=DKIM1; k=rsa; p={public}");
    let Some(record) = &d.dns_record else {
        let note = format!(
            "dkim: publish this TXT record at {name} (and set [dkim] dns_record to it, so check compares them): {publish}"
        );
        return (Vec::new(), Some(note));
    };
    let problem = match crate::keys::dkim_record_matches(record, &public) {
        Ok(true) => return (Vec::new(), None),
        Ok(false) => format!(
            "[dkim] dns_record: its public key is not the one of key_file {}; receivers would reject the signature",
            d.key_file.display()
        ),
        Err(why) => format!("[dkim] dns_record: {why}"),
    };
    let hint = format!("the record for this key, at {name}: {publish}");
    (
        vec![cfg.diagnostic_at("dkim.dns_record", true, problem).with_hint(hint)],
        None,
    )
}

/// Addresses in the config that parse but will hardly deliver.
pub(super) fn address_warnings(cfg: &Config) -> Vec<Diagnostic> {
    let n = &cfg.newsletter;
    let mut addresses = vec![("newsletter.from", n.from.email.to_string())];
    addresses.extend(
        n.reply_to
            .as_ref()
            .map(|m| ("newsletter.reply_to", m.email.to_string())),
    );
    addresses.extend(
        n.unsubscribe_mailto
            .as_ref()
            .map(|a| ("newsletter.unsubscribe_mailto", a.to_string())),
    );
    if n.bounce_address != n.from.email {
        addresses.push(("newsletter.bounce_address", n.bounce_address.to_string()));
    }
    addresses
        .into_iter()
        .filter_map(|(key, a)| crate::address::warning(&a).map(|w| cfg.diagnostic_at(key, false, w)))
        .collect()
}

/// `check --smtp`: connect, secure, authenticate, QUIT. Ok is a line for stdout.
pub(super) fn connect(cfg: &Config) -> Result<String, Diagnostic> {
    let settings =
        SmtpSettings::from_config(&cfg.smtp).map_err(|e| cfg.diagnostic_at("smtp.host", true, format!("{e:#}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| cfg.diagnostic_at("smtp.host", true, format!("cannot start the SMTP client: {e}")))?;
    let started = std::time::Instant::now();
    let conn = rt.block_on(SmtpConnection::connect(&settings)).map_err(|e| {
        let key = match e.stage {
            Stage::Auth => "smtp.username",
            Stage::Tls => "smtp.security",
            _ => "smtp.host",
        };
        cfg.diagnostic_at(key, true, e.to_string())
    })?;
    rt.block_on(conn.quit());
    let security = match cfg.smtp.security {
        Security::StartTls => "STARTTLS",
        Security::Tls => "TLS",
        Security::None => "no TLS",
    };
    let auth = match &settings.credentials {
        Some(c) => format!("authenticated as {}", c.username),
        None => "no login configured".to_string(),
    };
    Ok(format!(
        "smtp: {}:{} accepted the connection ({security}, {auth}) in {:.1} s; nothing was sent",
        cfg.smtp.host,
        cfg.smtp.port,
        started.elapsed().as_secs_f64()
    ))
}
