//! The SMTP sink: one connection through lettre's low-level
//! `AsyncSmtpConnection`, over a socket we open ourselves with TCP_NODELAY
//! (stock lettre stalls ~40 ms per message on Nagle + delayed ACK), reused
//! for many messages. When the server announces PIPELINING (RFC 2920) a
//! message's MAIL, RCPT and DATA go out in one write, together with the
//! previous message's content (see `transaction.rs`).

mod error;
mod settings;
pub(crate) mod tls;
mod transaction;

pub use error::{Cause, SmtpError, Stage};
pub use settings::{credential_problem, is_loopback_host, security_problem, Credentials, SmtpSettings};
pub(crate) use settings::{password_from_command, password_from_env};

use crate::config::Security;
use crate::output;
use crate::transport::{Outgoing, Sink};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Ehlo, Quit, Rset};
use lettre::transport::smtp::extension::ClientId;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpStream;

/// Delivers through the SMTP server of `[smtp]`.
pub struct SmtpSink {
    settings: SmtpSettings,
}

impl SmtpSink {
    pub fn new(settings: SmtpSettings) -> Self {
        SmtpSink { settings }
    }
}

impl Sink for SmtpSink {
    type Conn = SmtpConnection;

    async fn connect(&self) -> Result<SmtpConnection, SmtpError> {
        SmtpConnection::connect(&self.settings).await
    }

    async fn send(
        &self,
        conn: &mut SmtpConnection,
        message: Outgoing<'_>,
        next: Option<Outgoing<'_>>,
        before_content: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SmtpError> {
        conn.send_after(message, next, before_content).await
    }

    async fn quit(&self, conn: SmtpConnection) {
        conn.quit().await;
    }
}

/// An open, greeted, secured and authenticated SMTP session.
pub struct SmtpConnection {
    inner: AsyncSmtpConnection,
    timeout: Duration,
    /// Set when the dialogue is in an unknown state; the caller should reconnect.
    broken: bool,
    /// The server announced PIPELINING in its EHLO reply.
    pipelining: bool,
    /// The envelope whose MAIL, RCPT and DATA went out with the previous
    /// message's content; their replies are still to be read.
    announced: Option<Envelope>,
}

impl std::fmt::Debug for SmtpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConnection")
            .field("broken", &self.broken)
            .field("pipelining", &self.pipelining)
            .finish()
    }
}

impl SmtpConnection {
    /// TCP (nodelay, timeout) → greeting → EHLO → STARTTLS or implicit TLS →
    /// AUTH when credentials are set. Certificates are always verified.
    pub async fn connect(s: &SmtpSettings) -> Result<Self, SmtpError> {
        s.check_security()
            .map_err(|m| SmtpError::new(Stage::Connect, Cause::Settings(m)))?;
        let peer = format!("{}:{}", s.host, s.port);
        let connect_err = |kind, detail: String| {
            SmtpError::new(
                Stage::Connect,
                Cause::Connect {
                    kind,
                    detail: format!("cannot connect to {peer}: {detail}"),
                },
            )
        };
        let tcp = match tokio::time::timeout(s.timeout, TcpStream::connect((s.host.as_str(), s.port))).await {
            Err(_) => return Err(connect_err(std::io::ErrorKind::TimedOut, "timed out".into())),
            Ok(Err(e)) => return Err(connect_err(e.kind(), e.to_string())),
            Ok(Ok(tcp)) => tcp,
        };
        tcp.set_nodelay(true)
            .map_err(|e| connect_err(e.kind(), e.to_string()))?;
        let client_id = ClientId::Domain(s.hello_name.clone());

        let inner = if s.security == Security::Tls {
            let config =
                tls::client_config(&s.extra_root_certs_pem).map_err(|m| SmtpError::new(Stage::Tls, Cause::Tls(m)))?;
            let stream = timed(s.timeout, Stage::Tls, tls::handshake(config, &s.host, tcp)).await?;
            let fut = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &client_id);
            timed_lettre(s.timeout, Stage::Greeting, fut).await?
        } else {
            let fut = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &client_id);
            timed_lettre(s.timeout, Stage::Greeting, fut).await?
        };
        let mut conn = SmtpConnection {
            inner,
            timeout: s.timeout,
            broken: false,
            pipelining: false,
            announced: None,
        };

        if s.security == Security::StartTls {
            if !conn.inner.can_starttls() {
                // Never fall back to plain text.
                let msg = format!("{peer} does not offer STARTTLS (security = \"starttls\")");
                return Err(SmtpError::new(Stage::Tls, Cause::Tls(msg)));
            }
            let params = tls::lettre_parameters(&s.host, &s.extra_root_certs_pem)
                .map_err(|m| SmtpError::new(Stage::Tls, Cause::Tls(m)))?;
            timed_lettre(s.timeout, Stage::Tls, conn.inner.starttls(params, &client_id)).await?;
        }

        conn.pipelining = conn.announces_pipelining(s.timeout, &client_id).await?;
        if let Some(creds) = &s.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            let creds = creds.to_lettre();
            timed_lettre(s.timeout, Stage::Auth, conn.inner.auth(&mechanisms, &creds)).await?;
        }
        output::debug(&format!(
            "smtp: connected to {peer} ({}{}{})",
            match s.security {
                Security::Tls => "implicit TLS",
                Security::StartTls => "STARTTLS",
                Security::None => "unencrypted",
            },
            s.credentials
                .as_ref()
                .map(|c| format!(", authenticated as {}", c.username))
                .unwrap_or_default(),
            if conn.pipelining { ", pipelining" } else { "" }
        ));
        Ok(conn)
    }

    /// Sends EHLO again to read the reply ourselves: lettre's `ServerInfo`
    /// does not keep PIPELINING. Done before AUTH (a second EHLO resets only
    /// the transaction state, of which there is none yet).
    async fn announces_pipelining(&mut self, timeout: Duration, client_id: &ClientId) -> Result<bool, SmtpError> {
        let ehlo = timed_lettre(
            timeout,
            Stage::Greeting,
            self.inner.command(Ehlo::new(client_id.clone())),
        )
        .await?;
        let pipelining = ehlo.message().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|kw| kw.eq_ignore_ascii_case("PIPELINING"))
        });
        Ok(pipelining)
    }

    /// RSET: abandons the current transaction.
    pub async fn reset(&mut self) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let r = timed_lettre(timeout, Stage::Reset, self.inner.command(Rset)).await;
        self.broken |= r.is_err();
        r.map(drop)
    }

    /// False once the dialogue is in an unknown state (timeout, lost
    /// connection): drop this connection and open a new one.
    pub fn is_usable(&self) -> bool {
        !self.broken && !self.inner.has_broken()
    }

    /// Whether the server announced PIPELINING (RFC 2920) and we use it.
    pub fn pipelining(&self) -> bool {
        self.pipelining
    }

    /// QUIT and close; errors are ignored (the messages are already sent).
    /// A connection with an announced transaction is closed without QUIT:
    /// the server may be waiting for content, and closing abandons it.
    pub async fn quit(mut self) {
        if self.is_usable() && self.announced.is_none() {
            let _ = tokio::time::timeout(self.timeout, self.inner.command(Quit)).await;
        }
    }
}

/// Runs a lettre call with the timeout and classifies its error.
pub(super) async fn timed_lettre<T>(
    limit: Duration,
    stage: Stage,
    fut: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<T, SmtpError> {
    match tokio::time::timeout(limit, fut).await {
        Err(_) => Err(SmtpError::new(stage, Cause::Timeout)),
        Ok(r) => r.map_err(|e| SmtpError::from_lettre(stage, &e)),
    }
}

async fn timed<T>(
    limit: Duration,
    stage: Stage,
    fut: impl Future<Output = Result<T, SmtpError>>,
) -> Result<T, SmtpError> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| Err(SmtpError::new(stage, Cause::Timeout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    /// Connections stay usable from a multi-threaded runtime too (the
    /// public endpoint sends confirmations from one).
    #[test]
    fn futures_are_send() {
        let s = SmtpSettings {
            host: "127.0.0.1".into(),
            port: 1,
            security: Security::None,
            allow_insecure: false,
            hello_name: "x".into(),
            credentials: None,
            timeout: Duration::from_secs(1),
            extra_root_certs_pem: Vec::new(),
        };
        assert_send(SmtpConnection::connect(&s));
        fn send_fut(c: &mut SmtpConnection, e: &Envelope) {
            assert_send(c.send(e, b""));
            assert_send(c.reset());
        }
        let _ = send_fut;
    }
}
