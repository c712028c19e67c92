//! One mail transaction on an open connection: MAIL, RCPT, DATA and the
//! content.
//!
//! Without PIPELINING each command waits for its reply (four round trips
//! per message). With PIPELINING (RFC 2920) MAIL, RCPT and DATA go out in
//! one write, and a message's content goes out in the same write as the next
//! message's MAIL, RCPT and DATA ("the actual transfer of message content is
//! explicitly allowed to be the first command in a group"), so a reused
//! connection needs about one round trip per message. The content itself
//! always waits for the 354 reply to DATA: content sent after a refused DATA
//! would be read as commands.
//!
//! Every reply of a group is read, in order, even after a refusal, so the
//! dialogue stays in step; the first refusal is the one reported.

use super::{timed_lettre, Cause, SmtpConnection, SmtpError, Stage};
use crate::transport::Outgoing;
use lettre::address::Envelope;
use lettre::transport::smtp::commands::{Mail, Rcpt};
use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

impl SmtpConnection {
    /// MAIL, RCPT for each recipient, DATA and the message, each with the
    /// timeout. After a refused MAIL/RCPT/DATA the transaction is reset, so
    /// the connection stays usable; see [`is_usable`](Self::is_usable).
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<(), SmtpError> {
        let message = Outgoing {
            envelope,
            bytes: message,
        };
        self.send_after(message, None, &|| true).await
    }

    /// [`send`](Self::send), calling `before_content` after DATA was accepted
    /// and before the message goes out: the dispatcher waits there for the
    /// journal, so that wait overlaps the envelope round trips. With
    /// PIPELINING, `next`'s MAIL, RCPT and DATA go out with this message's
    /// content; the next call must then be for `next`.
    pub async fn send_after(
        &mut self,
        message: Outgoing<'_>,
        next: Option<Outgoing<'_>>,
        before_content: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SmtpError> {
        if self.broken {
            let cause = Cause::Disconnected("connection already failed; reconnect".into());
            return Err(SmtpError::new(Stage::Mail, cause));
        }
        // Refused before anything is written: the connection stays as it is.
        // An announced message's MAIL went out already (its check passed
        // then; it scans the whole message, so it is not made twice).
        let announced = self.announced.as_ref() == Some(message.envelope);
        let mail = if announced {
            None
        } else {
            Some(self.mail_command(message)?)
        };
        if let Err(e) = self.open_transaction(message, mail).await {
            if matches!(e.cause, Cause::Reply { .. }) && !self.broken {
                // Leave the failed transaction so the next send starts clean.
                if self.reset().await.is_err() {
                    self.broken = true;
                }
            } else {
                self.broken = true;
            }
            return Err(e);
        }
        if !before_content() {
            // After the 354 the server waits for content; the connection is
            // dropped without it, which abandons the transaction.
            self.broken = true;
            return Err(SmtpError::new(Stage::Message, Cause::Withheld));
        }
        let timeout = self.timeout;
        let sent = match std::str::from_utf8(message.bytes) {
            Ok(text) => {
                let mut then = String::new();
                if let Some(next) = next.filter(|_| self.pipelining) {
                    if let Ok(mail) = self.mail_command(next) {
                        then = envelope_group(mail, next.envelope);
                        self.announced = Some(next.envelope.clone());
                    }
                }
                // One write: the content, the final dot and the next group.
                let write = self.inner.command(DataContent { text, then: &then });
                timed_lettre(timeout, Stage::Message, write).await
            }
            // Not UTF-8: lettre's byte path, nothing announced.
            Err(_) => timed_lettre(timeout, Stage::Message, self.inner.message(message.bytes)).await,
        };
        if let Err(e) = &sent {
            self.broken |= !matches!(e.cause, Cause::Reply { .. });
        }
        sent.map(drop)
    }

    /// MAIL, RCPT and DATA up to the 354: read back when they were announced
    /// with the previous message, else sent now (as one group when pipelining).
    async fn open_transaction(&mut self, message: Outgoing<'_>, mail: Option<Mail>) -> Result<(), SmtpError> {
        match (self.announced.take(), mail) {
            (Some(announced), _) if announced == *message.envelope => {
                let first = timed_lettre(self.timeout, Stage::Mail, self.inner.read_response()).await;
                self.group_replies(message.envelope, first).await
            }
            (Some(_), _) | (None, None) => {
                self.broken = true;
                let msg = "internal error: the message differs from the one announced on this connection";
                Err(SmtpError::new(Stage::Mail, Cause::Protocol(msg.into())))
            }
            (None, Some(mail)) if self.pipelining => {
                let group = envelope_group(mail, message.envelope);
                let first = timed_lettre(self.timeout, Stage::Mail, self.inner.command(Verbatim(&group))).await;
                self.group_replies(message.envelope, first).await
            }
            (None, Some(mail)) => self.envelope_one_by_one(message.envelope, mail).await,
        }
    }

    /// Reads the replies to a pipelined MAIL (given), RCPTs and DATA.
    async fn group_replies(&mut self, envelope: &Envelope, mail: Result<Response, SmtpError>) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let mut refused = None;
        self.absorb(mail, &mut refused)?;
        for to in envelope.to() {
            let reply = timed_lettre(timeout, Stage::Rcpt, self.inner.read_response()).await;
            self.absorb(reply.map_err(|e| e.with_recipient(to.as_ref())), &mut refused)?;
        }
        let data = timed_lettre(timeout, Stage::Data, self.inner.read_response()).await;
        match (data, refused) {
            (Ok(_), None) => Ok(()),
            (Ok(_), Some(first)) => {
                // DATA accepted although MAIL or RCPT was refused: closing
                // the connection abandons the transaction; sending even an
                // empty body could deliver one.
                self.broken = true;
                Err(first)
            }
            (Err(e), refused) => {
                self.broken |= !matches!(e.cause, Cause::Reply { .. });
                Err(refused.unwrap_or(e))
            }
        }
    }

    /// Keeps the first refusal; a lost connection or a timeout ends the group.
    fn absorb(&mut self, reply: Result<Response, SmtpError>, refused: &mut Option<SmtpError>) -> Result<(), SmtpError> {
        match reply {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.cause, Cause::Reply { .. }) => {
                refused.get_or_insert(e);
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Without PIPELINING: each command waits for its reply.
    async fn envelope_one_by_one(&mut self, envelope: &Envelope, mail: Mail) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        timed_lettre(timeout, Stage::Mail, self.inner.command(mail)).await?;
        for to in envelope.to() {
            let rcpt = Rcpt::new(to.clone(), Vec::new());
            timed_lettre(timeout, Stage::Rcpt, self.inner.command(rcpt))
                .await
                .map_err(|e| e.with_recipient(to.as_ref()))?;
        }
        let data = lettre::transport::smtp::commands::Data;
        timed_lettre(timeout, Stage::Data, self.inner.command(data)).await?;
        Ok(())
    }

    /// MAIL FROM with SMTPUTF8 / BODY=8BITMIME when the message needs them;
    /// an error when it needs one the server does not offer.
    fn mail_command(&self, message: Outgoing<'_>) -> Result<Mail, SmtpError> {
        let envelope = message.envelope;
        let mut params = Vec::new();
        let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
        let non_ascii = envelope.from().is_some_and(|a| !ascii(a)) || envelope.to().iter().any(|a| !ascii(a));
        let info = self.inner.server_info();
        if non_ascii {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                let msg = "the address is not ASCII and the server does not support SMTPUTF8";
                return Err(SmtpError::new(Stage::Mail, Cause::Protocol(msg.into())));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if !message.bytes.is_ascii() {
            if !info.supports_feature(Extension::EightBitMime) {
                let msg = "the message is 8-bit and the server does not support 8BITMIME";
                return Err(SmtpError::new(Stage::Mail, Cause::Protocol(msg.into())));
            }
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        Ok(Mail::new(envelope.from().cloned(), params))
    }
}

/// MAIL, RCPT for each recipient and DATA, as one piece of text.
fn envelope_group(mail: Mail, envelope: &Envelope) -> String {
    let mut group = mail.to_string();
    for to in envelope.to() {
        group.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
    }
    group.push_str("DATA\r\n");
    group
}

/// Text that lettre's `command` writes as it is: the DATA content, a group.
struct Verbatim<'a>(&'a str);

impl std::fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The DATA content as lettre's `message` would send it: a `.` doubled at
/// the start of the message and after every CRLF, then `CRLF . CRLF`, then
/// `then` (the next message's commands). Written piece by piece straight
/// into lettre's command buffer: no copy of the message of our own.
/// Searching for CRLF-dot with memchr's SIMD search costs far less than
/// lettre's per-byte state machine (a quarter of the CPU of a live send) or
/// `str::find` (a fifth).
struct DataContent<'a> {
    text: &'a str,
    then: &'a str,
}

impl std::fmt::Display for DataContent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let text = self.text;
        if text.starts_with('.') {
            f.write_char('.')?;
        }
        let mut start = 0;
        for i in memchr::memmem::find_iter(text.as_bytes(), b"\r\n.") {
            f.write_str(&text[start..i + 2])?;
            f.write_char('.')?;
            start = i + 2;
        }
        f.write_str(&text[start..])?;
        f.write_str("\r\n.\r\n")?;
        f.write_str(self.then)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn dot_stuffed(message: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(message).ok()?;
        Some(DataContent { text, then: "" }.to_string())
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
}
