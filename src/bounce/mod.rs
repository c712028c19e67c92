//! Bounces and complaints: reading returned mail (RFC 3464 DSNs, RFC 5965
//! feedback reports, RFC 3834 auto-replies and the text bounces of MTAs
//! that send no DSN) into plain data, and the one set of rules that turns a
//! failure into `hard`, `soft`, `complaint` or `ignore`.
//!
//! [`parse`] is pure (bytes in, [`Report`] out); [`input`] reads files,
//! folders, Maildirs, mboxes and stdin at the edge; [`classify_reply`]
//! applies the same rules to a synchronous SMTP refusal.

mod address;
mod arf;
mod detect;
mod dsn;
mod entries;
pub mod input;
mod mime;
mod model;
mod patterns;
pub mod pseudo;
mod read;
mod rules;
mod smtp;
mod text;

pub use model::{issue_from_message_id, Class, Entry, Kind, Original, Reason, Report};
pub use read::{parse, BadMessage};
pub use rules::{classify_reply, Verdict};
pub use smtp::Command;
