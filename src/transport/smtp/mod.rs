//! The SMTP sink: one connection through lettre's low-level
//! `AsyncSmtpConnection`, over a socket we open ourselves with TCP_NODELAY
//! (stock lettre stalls ~40 ms per message on Nagle + delayed ACK), reused
//! for many messages.

mod error;
mod settings;
pub(crate) mod tls;

pub use error::{Cause, SmtpError, Stage};
pub use settings::{credential_problem, is_loopback_host, security_problem, Credentials, SmtpSettings};
pub(crate) use settings::{password_from_command, password_from_env};

use crate::config::Security;
use crate::output;
use crate::transport::Sink;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Quit, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
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
        envelope: &Envelope,
        bytes: &[u8],
        before_content: &(dyn Fn() + Sync),
    ) -> Result<(), SmtpError> {
        conn.send_after(envelope, bytes, before_content).await
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
}

impl std::fmt::Debug for SmtpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConnection").field("broken", &self.broken).finish()
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

        if let Some(creds) = &s.credentials {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            let creds = creds.to_lettre();
            timed_lettre(s.timeout, Stage::Auth, conn.inner.auth(&mechanisms, &creds)).await?;
        }
        output::debug(&format!(
            "smtp: connected to {peer} ({}{})",
            match s.security {
                Security::Tls => "implicit TLS",
                Security::StartTls => "STARTTLS",
                Security::None => "unencrypted",
            },
            s.credentials
                .as_ref()
                .map(|c| format!(", authenticated as {}", c.username))
                .unwrap_or_default()
        ));
        Ok(conn)
    }

    /// MAIL, RCPT for each recipient, DATA and the message, each with the
    /// timeout. After a refused MAIL/RCPT/DATA the transaction is reset, so
    /// the connection stays usable; see [`is_usable`](Self::is_usable).
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<(), SmtpError> {
        self.send_after(envelope, message, &|| {}).await
    }

    /// [`send`](Self::send), calling `before_content` after DATA was accepted
    /// and before the message goes out: the dispatcher waits there for the
    /// journal, so that wait overlaps the envelope round trips.
    pub async fn send_after(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        before_content: &(dyn Fn() + Sync),
    ) -> Result<(), SmtpError> {
        if self.broken {
            let cause = Cause::Disconnected("connection already failed; reconnect".into());
            return Err(SmtpError::new(Stage::Mail, cause));
        }
        let mut params = Vec::new();
        let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
        let non_ascii = envelope.from().is_some_and(|a| !ascii(a)) || envelope.to().iter().any(|a| !ascii(a));
        if non_ascii {
            if !self.inner.server_info().supports_feature(Extension::SmtpUtfEight) {
                let msg = "the address is not ASCII and the server does not support SMTPUTF8";
                return Err(SmtpError::new(Stage::Mail, Cause::Protocol(msg.into())));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !message.is_ascii() {
            if !self.inner.server_info().supports_feature(Extension::EightBitMime) {
                let msg = "the message is 8-bit and the server does not support 8BITMIME";
                return Err(SmtpError::new(Stage::Mail, Cause::Protocol(msg.into())));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }

        let result = self.envelope_commands(envelope, params).await;
        if let Err(e) = result {
            if matches!(e.cause, Cause::Reply { .. }) {
                // Leave the failed transaction so the next send starts clean.
                if self.reset().await.is_err() {
                    self.broken = true;
                }
            } else {
                self.broken = true;
            }
            return Err(e);
        }
        before_content();
        let timeout = self.timeout;
        let sent = match dot_stuffed(message) {
            // One write of the whole DATA content; lettre's own path
            // dot-stuffs byte by byte and writes the final dot separately.
            Some(content) => timed_lettre(timeout, Stage::Message, self.inner.command(Verbatim(&content))).await,
            None => timed_lettre(timeout, Stage::Message, self.inner.message(message)).await,
        };
        if let Err(e) = &sent {
            self.broken |= !matches!(e.cause, Cause::Reply { .. });
        }
        sent.map(drop)
    }

    async fn envelope_commands(&mut self, envelope: &Envelope, params: Vec<MailParameter>) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let mail = Mail::new(envelope.from().cloned(), params);
        timed_lettre(timeout, Stage::Mail, self.inner.command(mail)).await?;
        for to in envelope.to() {
            let rcpt = Rcpt::new(to.clone(), Vec::new());
            timed_lettre(timeout, Stage::Rcpt, self.inner.command(rcpt))
                .await
                .map_err(|e| e.with_recipient(to.as_ref()))?;
        }
        timed_lettre(timeout, Stage::Data, self.inner.command(Data)).await?;
        Ok(())
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

    /// QUIT and close; errors are ignored (the messages are already sent).
    pub async fn quit(mut self) {
        if self.is_usable() {
            let _ = tokio::time::timeout(self.timeout, self.inner.command(Quit)).await;
        }
    }
}

/// Text that lettre's `command` writes as it is: the DATA content.
struct Verbatim<'a>(&'a str);

impl std::fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The DATA content as lettre's `message` would send it: a `.` doubled at
/// the start of the message and after every CRLF, then `CRLF . CRLF`.
/// None when the message is not UTF-8 (lettre's byte path handles it).
/// Searching for CRLF-dot costs far less than lettre's per-byte state machine,
/// which was a quarter of the CPU of a live send (perf).
fn dot_stuffed(message: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(message).ok()?;
    let mut out = String::with_capacity(text.len() + 16);
    if text.starts_with('.') {
        out.push('.');
    }
    let mut rest = text;
    while let Some(i) = rest.find("\r\n.") {
        out.push_str(&rest[..i + 2]);
        out.push('.');
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out.push_str("\r\n.\r\n");
    Some(out)
}

/// Runs a lettre call with the timeout and classifies its error.
async fn timed_lettre<T>(
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

    /// lettre 0.11's `ClientCodec::encode` plus the final dot, byte by byte.
    fn lettre_reference(message: &[u8]) -> Vec<u8> {
        #[derive(Clone, Copy)]
        enum St {
            Middle,
            Cr,
            Start,
        }
        let mut st = St::Start;
        let mut out = Vec::new();
        for &b in message {
            out.push(b);
            st = match (b, st) {
                (b'\r', _) => St::Cr,
                (b'\n', St::Cr) => St::Start,
                (_, St::Cr) => St::Middle,
                (b'.', St::Start) => {
                    out.push(b'.');
                    St::Middle
                }
                (_, St::Start) => St::Middle,
                (_, s) => s,
            };
        }
        out.extend_from_slice(b"\r\n.\r\n");
        out
    }

    #[test]
    fn dot_stuffing_matches_lettre() {
        let cases: &[&[u8]] = &[
            b"",
            b".",
            b"..\r\n.\r\n",
            b"a\r\n.b\r\n..c\r\n",
            b"a\n.b\r.c\r\r\n.d",
            b"end with crlf\r\n",
            b"\r\n.",
            "한국어\r\n.점".as_bytes(),
        ];
        for c in cases {
            assert_eq!(dot_stuffed(c).unwrap().into_bytes(), lettre_reference(c), "{:?}", c);
        }
        // Every string of up to 6 symbols from {'.', CR, LF, 'x'}.
        let alphabet = [b'.', b'\r', b'\n', b'x'];
        for len in 0..=6u32 {
            for n in 0..4usize.pow(len) {
                let s: Vec<u8> = (0..len).map(|i| alphabet[n / 4usize.pow(i) % 4]).collect();
                assert_eq!(dot_stuffed(&s).unwrap().into_bytes(), lettre_reference(&s), "{s:?}");
            }
        }
        assert!(dot_stuffed(b"\xff").is_none());
    }

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
