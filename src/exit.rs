//! Exit codes (README "Exit codes") and the error type that carries one to `main`.

use std::fmt;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to do.
    Ok = 0,
    /// The run finished but some recipients failed.
    SomeFailed = 1,
    /// Invalid usage, config, issue or subscribers: nothing was sent.
    Invalid = 2,
    /// Aborted (SMTP unreachable, authentication refused, interrupted).
    Aborted = 3,
    /// Another `send` holds the lock.
    Locked = 4,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error that decides the exit code. Anything else that reaches `main` is
/// treated as [`Exit::Invalid`] unless wrapped in one of these.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(exit: Exit, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Failure {
            exit,
            message: message.into(),
        })
    }
}

/// An error whose problems were printed already, one line each (`file:line:
/// error: …`): it carries the exit code and adds no line of its own, so a
/// config error reads once, at its line.
pub fn reported(exit: Exit) -> anyhow::Error {
    Failure::new(exit, "")
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code an error chain asks for: the first [`Failure`] in it, else 2.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    failure(err).map_or(Exit::Invalid, |f| f.exit)
}

/// The outermost [`Failure`]: a context (from [`default_to`]) or an error in the chain.
fn failure(err: &anyhow::Error) -> Option<&Failure> {
    err.downcast_ref::<Failure>()
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<Failure>()))
}

/// Gives an error that names no exit code this one, with `message` in front.
/// A chain that already carries a [`Failure`] keeps it.
pub fn default_to(err: anyhow::Error, exit: Exit, message: &str) -> anyhow::Error {
    if failure(&err).is_some() {
        return err;
    }
    err.context(Failure {
        exit,
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_without_a_code_are_invalid_unless_defaulted() {
        let plain = anyhow::anyhow!("disk I/O error");
        assert_eq!(exit_for(&plain), Exit::Invalid);
        let e = default_to(plain, Exit::Aborted, "stopped");
        assert_eq!(exit_for(&e), Exit::Aborted);
        assert_eq!(format!("{e:#}"), "stopped: disk I/O error");
        let locked = Failure::new(Exit::Locked, "held by pid 1");
        assert_eq!(exit_for(&default_to(locked, Exit::Aborted, "stopped")), Exit::Locked);
    }
}
