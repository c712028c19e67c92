//! SMTP connection settings from `[smtp]`: resolves the password (never
//! logged, redacted in `Debug`) and enforces the transport security rules.

use crate::config::{self, Security};
use anyhow::{bail, Context};
use std::fmt;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A username and password for SMTP AUTH. `Debug` redacts the password.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    pub(crate) fn to_lettre(&self) -> lettre::transport::smtp::authentication::Credentials {
        lettre::transport::smtp::authentication::Credentials::new(self.username.clone(), self.password.clone())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Everything needed to open one SMTP connection.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub allow_insecure: bool,
    /// The name sent with EHLO.
    pub hello_name: String,
    pub credentials: Option<Credentials>,
    /// Limit for the TCP connect, the TLS handshake and each SMTP command.
    pub timeout: Duration,
    /// Extra trusted root certificates (PEM), on top of the platform's.
    pub extra_root_certs_pem: Vec<Vec<u8>>,
}

impl SmtpSettings {
    /// Builds the settings from `[smtp]`, resolving the password and
    /// checking the security rules. Errors name the config key.
    pub fn from_config(cfg: &config::Smtp) -> anyhow::Result<Self> {
        if let Some((_, msg)) = credential_problem(cfg) {
            bail!(msg);
        }
        let credentials = match (&cfg.username, &cfg.password_env, &cfg.password_command) {
            (Some(user), Some(var), None) => Some(Credentials::new(user, password_from_env("[smtp]", var)?)),
            (Some(user), None, Some(argv)) => Some(Credentials::new(user, password_from_command("[smtp]", argv)?)),
            _ => None,
        };
        let hello_name = cfg
            .helo_name
            .clone()
            .unwrap_or_else(|| lettre::transport::smtp::extension::ClientId::default().to_string());
        let settings = SmtpSettings {
            host: cfg.host.clone(),
            port: cfg.port,
            security: cfg.security,
            allow_insecure: cfg.allow_insecure,
            hello_name,
            credentials,
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            extra_root_certs_pem: Vec::new(),
        };
        settings.check_security().map_err(anyhow::Error::msg)?;
        Ok(settings)
    }

    /// The transport security rules; the message names the config key.
    pub fn check_security(&self) -> Result<(), String> {
        let loopback = is_loopback_host(&self.host);
        if self.security == Security::None && self.credentials.is_some() && !loopback {
            return Err(format!(
                "[smtp] username: refusing to send the password unencrypted to \"{}\"; \
                 use security = \"starttls\" or \"tls\"",
                self.host
            ));
        }
        if self.security == Security::None && !loopback && !self.allow_insecure {
            return Err(format!(
                "[smtp] security = \"none\" is only allowed to a loopback host (127.0.0.1, ::1, localhost), \
                 not \"{}\"; use \"starttls\" or \"tls\", or set allow_insecure = true",
                self.host
            ));
        }
        Ok(())
    }
}

/// A contradiction between `username`, `password_env` and
/// `password_command`, as (the config key it concerns, the message).
pub fn credential_problem(cfg: &config::Smtp) -> Option<(&'static str, String)> {
    let (key, msg) = match (&cfg.username, &cfg.password_env, &cfg.password_command) {
        (_, Some(_), Some(_)) => (
            "smtp.password_command",
            "[smtp] password_env and password_command: set only one of them",
        ),
        (None, Some(_), None) => (
            "smtp.password_env",
            "[smtp] username: required when password_env or password_command is set",
        ),
        (None, None, Some(_)) => (
            "smtp.password_command",
            "[smtp] username: required when password_env or password_command is set",
        ),
        (Some(_), None, None) => (
            "smtp.username",
            "[smtp] username is set but neither password_env nor password_command says where the password is",
        ),
        _ => return None,
    };
    Some((key, msg.to_string()))
}

/// The security rules of [`SmtpSettings::check_security`] for `[smtp]` as
/// written, without reading the password (for `newsletter check`).
pub fn security_problem(cfg: &config::Smtp) -> Option<String> {
    let settings = SmtpSettings {
        host: cfg.host.clone(),
        port: cfg.port,
        security: cfg.security,
        allow_insecure: cfg.allow_insecure,
        hello_name: String::new(),
        credentials: cfg.username.as_ref().map(|u| Credentials::new(u, "")),
        timeout: Duration::from_secs(1),
        extra_root_certs_pem: Vec::new(),
    };
    settings.check_security().err()
}

/// 127.0.0.0/8, ::1 and `localhost` (which we trust to resolve locally).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The password in the variable `var`; errors name the config `section`.
pub(crate) fn password_from_env(section: &str, var: &str) -> anyhow::Result<String> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Ok(p),
        Ok(_) => bail!("{section} password_env: environment variable {var} is empty"),
        Err(_) => bail!("{section} password_env: environment variable {var} is not set"),
    }
}

/// Runs the command (stdin and stderr stay on the terminal, for pinentry and
/// friends) and takes the first line of its output.
pub(crate) fn password_from_command(section: &str, argv: &[String]) -> anyhow::Result<String> {
    let Some((program, args)) = argv.split_first() else {
        bail!("{section} password_command: must not be empty");
    };
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .with_context(|| format!("{section} password_command: cannot run {program}"))?;
    if !output.status.success() {
        // Only the status: stdout may hold part of the secret.
        bail!("{section} password_command: {program} failed ({})", output.status);
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| anyhow::anyhow!("{section} password_command: {program} printed something that is not UTF-8"))?;
    let first = stdout.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        bail!("{section} password_command: {program} printed no password");
    }
    Ok(first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost", "LOCALHOST"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["10.0.0.1", "smtp.example.com", "localhost.example.com", "128.0.0.1"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn debug_redacts_password() {
        let c = Credentials::new("me", "s3cret-pw");
        let text = format!("{c:?}");
        assert!(text.contains("me") && !text.contains("s3cret-pw"), "{text}");
    }
}
