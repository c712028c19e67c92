//! A sink for unit tests, like lettre's `StubTransport`: it records every
//! message it is handed and plays back scripted replies, per recipient, so
//! the dispatcher's retry, abort and journal-ordering rules can be tested
//! without a server. Like a pipelining SMTP connection it remembers the
//! message announced with the previous content, and notes any send on that
//! connection that is not for the announced message.

use super::smtp::SmtpError;
use super::{Outgoing, Sink};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// A negative reply at `stage`; an enhanced status is read from the text's
/// first word when it has dots (`"5.1.1 no such user"` → `5.1.1`).
pub fn reply(stage: super::smtp::Stage, code: u16, text: &str) -> SmtpError {
    let enhanced = text.split(' ').next().filter(|t| t.contains('.')).map(str::to_string);
    SmtpError::new(
        stage,
        super::smtp::Cause::Reply {
            code,
            enhanced,
            text: text.into(),
        },
    )
}

/// One call of `send`: on which connection, to whom, and what was replied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub conn: u32,
    pub to: String,
    pub ok: bool,
    /// The next message's recipient, announced with this content.
    pub next: Option<String>,
}

/// Called right after `before_content`, with the connection and recipient.
type ContentHook = Box<dyn Fn(u32, &str) + Sync>;

#[derive(Default)]
pub struct StubSink {
    connects: Mutex<VecDeque<Result<(), SmtpError>>>,
    replies: Mutex<HashMap<String, VecDeque<Result<(), SmtpError>>>>,
    next_conn: AtomicU32,
    calls: Mutex<Vec<Call>>,
    on_content: Option<ContentHook>,
    /// Per connection: the recipient announced with the last content.
    announced: Mutex<HashMap<u32, String>>,
    broken_promises: Mutex<Vec<String>>,
}

impl StubSink {
    pub fn new() -> Self {
        StubSink::default()
    }

    /// The next connection attempts get these results, in order; then Ok.
    pub fn connects(self, results: Vec<Result<(), SmtpError>>) -> Self {
        *self.connects.lock().unwrap() = results.into();
        self
    }

    /// The next messages to `to` get these replies, in order; then Ok.
    pub fn replies(self, to: &str, results: Vec<Result<(), SmtpError>>) -> Self {
        self.replies.lock().unwrap().insert(to.to_string(), results.into());
        self
    }

    /// Runs `hook` after `before_content` on every message, before its reply.
    pub fn on_content(mut self, hook: impl Fn(u32, &str) + Sync + 'static) -> Self {
        self.on_content = Some(Box::new(hook));
        self
    }

    /// Every `send` so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The recipients that got a message (an Ok reply), in order.
    pub fn delivered(&self) -> Vec<String> {
        self.calls().into_iter().filter(|c| c.ok).map(|c| c.to).collect()
    }

    /// Sends that did not match the message announced on their connection.
    pub fn broken_promises(&self) -> Vec<String> {
        self.broken_promises.lock().unwrap().clone()
    }

    /// How many connections were opened.
    pub fn connections(&self) -> u32 {
        self.next_conn.load(Ordering::SeqCst)
    }
}

impl Sink for StubSink {
    type Conn = u32;

    async fn connect(&self) -> Result<u32, SmtpError> {
        if let Some(result) = self.connects.lock().unwrap().pop_front() {
            result?;
        }
        Ok(self.next_conn.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn send(
        &self,
        conn: &mut u32,
        message: Outgoing<'_>,
        next: Option<Outgoing<'_>>,
        before_content: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SmtpError> {
        let to = message.envelope.to()[0].to_string();
        if let Some(promised) = self.announced.lock().unwrap().remove(conn) {
            if promised != to {
                let msg = format!("conn {conn}: announced {promised}, sent {to}");
                self.broken_promises.lock().unwrap().push(msg);
            }
        }
        let reply = self
            .replies
            .lock()
            .unwrap()
            .get_mut(&to)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Ok(()));
        // A refusal of the envelope comes before the content.
        let refused_envelope = reply.as_ref().is_err_and(|e| e.stage < super::smtp::Stage::Message);
        let next = next.map(|n| n.envelope.to()[0].to_string());
        if !refused_envelope {
            if !before_content() {
                return Err(SmtpError::new(
                    super::smtp::Stage::Message,
                    super::smtp::Cause::Withheld,
                ));
            }
            if let Some(hook) = &self.on_content {
                hook(*conn, &to);
            }
            // The next envelope goes out with this content, as when pipelining.
            if let Some(n) = &next {
                self.announced.lock().unwrap().insert(*conn, n.clone());
            }
        }
        self.calls.lock().unwrap().push(Call {
            conn: *conn,
            to,
            ok: reply.is_ok(),
            next: next.filter(|_| !refused_envelope),
        });
        reply
    }

    async fn quit(&self, conn: u32) {
        self.announced.lock().unwrap().remove(&conn);
    }
}
