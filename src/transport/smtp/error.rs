//! SMTP failures, classified for the dispatcher: retry later, give up on one
//! recipient, or abort the whole run. Messages never contain credentials.

use std::fmt;
use std::io::ErrorKind;

/// Where in the SMTP dialogue a failure happened, in dialogue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// TCP connect (including name resolution) or the security rules.
    Connect,
    /// Greeting and EHLO.
    Greeting,
    /// STARTTLS or the implicit-TLS handshake.
    Tls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// Sending the message body and waiting for the reply to the final dot.
    Message,
    Reset,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The server answered with a negative reply.
    Reply {
        code: u16,
        /// RFC 3463 enhanced status code (`5.1.1`) when the reply starts with one.
        enhanced: Option<String>,
        text: String,
    },
    /// The TCP connection could not be opened.
    Connect { kind: ErrorKind, detail: String },
    /// No answer within the configured timeout.
    Timeout,
    /// The connection broke: reset, broken pipe, closed by the server.
    Disconnected(String),
    /// Certificate verification or the TLS handshake failed.
    Tls(String),
    /// A client-side refusal or an unusable server (no STARTTLS offered, no
    /// common AUTH mechanism, non-ASCII address without SMTPUTF8, garbled reply).
    Protocol(String),
    /// The settings break a security rule (`security = "none"` to a remote host…).
    Settings(String),
    /// The content was not sent: the journal stopped writing while the
    /// message waited for the previous one's record, so it was abandoned.
    Withheld,
}

/// One SMTP failure. `Display` gives a one-line message with the SMTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpError {
    pub stage: Stage,
    pub cause: Cause,
    /// The recipient a RCPT failure is about.
    pub recipient: Option<String>,
}

impl SmtpError {
    pub fn new(stage: Stage, cause: Cause) -> Self {
        SmtpError {
            stage,
            cause,
            recipient: None,
        }
    }

    pub(crate) fn with_recipient(mut self, recipient: &str) -> Self {
        self.recipient = Some(recipient.to_string());
        self
    }

    /// Classifies a lettre error; `stage` is what we were doing at the time.
    pub(crate) fn from_lettre(stage: Stage, e: &lettre::transport::smtp::Error) -> Self {
        use std::error::Error as _;
        let source_text = e.source().map(|s| s.to_string()).unwrap_or_default();
        if let Some(code) = e.status() {
            let text = source_text.trim().to_string();
            return SmtpError::new(stage, reply_cause(u16::from(code), text));
        }
        let mut src = e.source();
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                let cause = match io.kind() {
                    ErrorKind::TimedOut => Cause::Timeout,
                    _ if stage == Stage::Tls => Cause::Tls(io.to_string()),
                    _ => Cause::Disconnected(io.to_string()),
                };
                return SmtpError::new(stage, cause);
            }
            src = s.source();
        }
        let cause = if stage == Stage::Tls || e.is_tls() {
            Cause::Tls(e.to_string())
        } else if e.is_response() && source_text == "incomplete response" {
            // lettre's wording for "the server closed the connection".
            Cause::Disconnected("connection closed by the server".into())
        } else if e.is_client() {
            Cause::Protocol(source_text)
        } else {
            Cause::Protocol(e.to_string())
        };
        SmtpError::new(stage, cause)
    }

    /// The SMTP reply code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match &self.cause {
            Cause::Reply { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The enhanced status code (`5.1.1`), when the server sent one.
    pub fn enhanced_status(&self) -> Option<&str> {
        match &self.cause {
            Cause::Reply { enhanced, .. } => enhanced.as_deref(),
            _ => None,
        }
    }

    /// Worth retrying later: a 4xx reply, a timeout or a broken connection
    /// (except while connecting, which [`is_fatal_for_run`](Self::is_fatal_for_run) covers).
    pub fn is_transient(&self) -> bool {
        match &self.cause {
            Cause::Reply { code, .. } => (400..500).contains(code),
            Cause::Timeout | Cause::Disconnected(_) => self.stage != Stage::Connect,
            _ => false,
        }
    }

    /// The server asks the client to slow down: 421 (service not available,
    /// often "too many messages, try later") or 454 (temporary failure, the
    /// reply relays and SES give for throttling).
    pub fn is_throttle(&self) -> bool {
        matches!(self.code(), Some(421 | 454))
    }

    /// The server refused for good (5xx), or the message can never be sent
    /// over this server (e.g. a non-ASCII address without SMTPUTF8).
    pub fn is_permanent(&self) -> bool {
        match &self.cause {
            Cause::Reply { code, .. } => (500..600).contains(code),
            Cause::Protocol(_) => matches!(self.stage, Stage::Mail | Stage::Rcpt | Stage::Data),
            _ => false,
        }
    }

    /// A 5xx to RCPT that says the mailbox does not exist. Deliberately narrow:
    /// 550 with 5.1.1, any 551, 553 with 5.1.x. A bare 550 is often a policy
    /// block, so it does not count.
    pub fn mailbox_unknown(&self) -> bool {
        if self.stage != Stage::Rcpt {
            return false;
        }
        let enhanced = self.enhanced_status().unwrap_or("");
        match self.code() {
            Some(550) => enhanced == "5.1.1",
            Some(551) => true,
            Some(553) => enhanced.starts_with("5.1."),
            _ => false,
        }
    }

    /// Nothing else will get through in this run either: the server is
    /// unreachable, TLS failed, authentication was refused, or the settings
    /// break a security rule.
    pub fn is_fatal_for_run(&self) -> bool {
        let reply_5xx = matches!(self.code(), Some(500..=599));
        match self.stage {
            Stage::Connect => true,
            Stage::Greeting => reply_5xx || matches!(self.cause, Cause::Protocol(_)),
            Stage::Tls | Stage::Auth => !self.is_transient(),
            _ => matches!(self.cause, Cause::Settings(_)),
        }
    }

    /// The failure came while or after the message body was sent.
    pub fn after_data(&self) -> bool {
        self.stage == Stage::Message
    }

    /// The body was sent but no reply came back: the server may have
    /// accepted the message, so a retry may deliver it twice.
    pub fn maybe_delivered(&self) -> bool {
        self.after_data() && !matches!(self.cause, Cause::Reply { .. } | Cause::Withheld)
    }
}

fn reply_cause(code: u16, text: String) -> Cause {
    let enhanced = text
        .split_whitespace()
        .next()
        .filter(|t| is_enhanced_status(t))
        .map(str::to_string);
    Cause::Reply { code, enhanced, text }
}

fn is_enhanced_status(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.stage {
            Stage::Connect => "connect",
            Stage::Greeting => "greeting/EHLO",
            Stage::Tls => "TLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "message body",
            Stage::Reset => "RSET",
        };
        write!(f, "SMTP {what}")?;
        if let Some(r) = &self.recipient {
            write!(f, " <{r}>")?;
        }
        match &self.cause {
            Cause::Reply { code, text, .. } => write!(f, ": server replied {code} {text}"),
            Cause::Connect { detail, .. } => write!(f, ": {detail}"),
            Cause::Timeout => f.write_str(": timed out"),
            Cause::Disconnected(d) => write!(f, ": connection lost ({d})"),
            Cause::Tls(d) => write!(f, ": TLS failed ({d})"),
            Cause::Protocol(d) | Cause::Settings(d) => write!(f, ": {d}"),
            Cause::Withheld => f.write_str(": not sent, the journal stopped writing (see the error below)"),
        }
    }
}

impl std::error::Error for SmtpError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(stage: Stage, code: u16, text: &str) -> SmtpError {
        SmtpError::new(stage, reply_cause(code, text.into()))
    }

    #[test]
    fn mailbox_unknown_is_narrow() {
        assert!(reply(Stage::Rcpt, 550, "5.1.1 no such user").mailbox_unknown());
        assert!(reply(Stage::Rcpt, 551, "user not local").mailbox_unknown());
        assert!(reply(Stage::Rcpt, 553, "5.1.3 bad address syntax").mailbox_unknown());
        assert!(!reply(Stage::Rcpt, 550, "mailbox unavailable").mailbox_unknown());
        assert!(!reply(Stage::Rcpt, 550, "5.7.1 blocked by policy").mailbox_unknown());
        assert!(!reply(Stage::Rcpt, 450, "4.1.1 try later").mailbox_unknown());
        assert!(!reply(Stage::Message, 550, "5.1.1 no such user").mailbox_unknown());
    }

    #[test]
    fn classes() {
        let t = reply(Stage::Rcpt, 450, "4.2.0 try later");
        assert!(t.is_transient() && !t.is_permanent() && !t.is_fatal_for_run());
        let a = reply(Stage::Auth, 535, "5.7.8 bad credentials");
        assert!(a.is_fatal_for_run() && a.is_permanent());
        let refused = SmtpError::new(
            Stage::Connect,
            Cause::Connect {
                kind: ErrorKind::ConnectionRefused,
                detail: "refused".into(),
            },
        );
        assert!(refused.is_fatal_for_run() && !refused.is_transient());
        let lost = SmtpError::new(Stage::Message, Cause::Disconnected("reset".into()));
        assert!(lost.is_transient() && lost.maybe_delivered());
        let rejected = reply(Stage::Message, 554, "5.6.0 rejected");
        assert!(rejected.after_data() && !rejected.maybe_delivered());
        assert_eq!(rejected.enhanced_status(), Some("5.6.0"));
        assert_eq!(
            t.clone().with_recipient("a@b.c").to_string(),
            "SMTP RCPT TO <a@b.c>: server replied 450 4.2.0 try later"
        );
    }
}
