//! Transports: "envelope + bytes → sink", as in lettre's `Transport`. A sink
//! opens connections that the dispatcher reuses for many messages: SMTP
//! through lettre's low-level client ([`smtp::SmtpSink`]), `.eml` files for a
//! dry run ([`eml::EmlSink`]), and in tests a stub that records what it got
//! and plays back scripted replies.
//!
//! Failures are [`smtp::SmtpError`]s for every sink: the stage and cause are
//! what the dispatcher's retry and abort rules read.

pub mod eml;
pub mod smtp;
#[cfg(test)]
pub(crate) mod stub;

use lettre::address::Envelope;
use smtp::SmtpError;

/// One message as a sink takes it: "envelope + bytes".
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub envelope: &'a Envelope,
    pub bytes: &'a [u8],
}

/// Where messages go. Each dispatcher worker owns one connection at a time
/// and opens a new one after any error.
// The futures need no `Send`: every worker drives its own connection on a
// single-threaded runtime.
#[allow(async_fn_in_trait)]
pub trait Sink: Sync {
    type Conn;

    /// Opens a connection (for SMTP: greeted, secured and authenticated).
    async fn connect(&self) -> Result<Self::Conn, SmtpError>;

    /// Hands one message over.
    ///
    /// `before_content` runs once the server has accepted the envelope and
    /// right before the content goes out: the dispatcher waits there for the
    /// journal, so that no message is accepted before the previous one on
    /// the same connection is recorded. When it returns false (the journal
    /// stopped) the content must not go out: the sink abandons the
    /// transaction and returns a [`Cause::Withheld`](smtp::Cause::Withheld) error.
    ///
    /// `next` is the message the dispatcher will hand over next on this
    /// connection, when it already has one. A sink that pipelines (SMTP with
    /// PIPELINING) sends its envelope commands in the same write as this
    /// message's content; the next call on this connection must then be for
    /// that message, or the connection must be dropped (which abandons the
    /// announced transaction: nothing is delivered without its content).
    async fn send(
        &self,
        conn: &mut Self::Conn,
        message: Outgoing<'_>,
        next: Option<Outgoing<'_>>,
        before_content: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SmtpError>;

    /// Closes the connection politely; errors are ignored.
    async fn quit(&self, conn: Self::Conn);
}
