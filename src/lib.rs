//! newsletter: send a weekly newsletter issue, written as a markdown post,
//! to a list of subscribers by email.
//!
//! Pipeline: issue file → [`issue`] parser → [`issue::Issue`] → [`render`]
//! (HTML + text bodies) → [`message`] (MIME, DKIM) → the dispatcher in
//! `send` → a [`transport`] sink (SMTP or dry-run files) → [`state`] (the
//! journal, the suppression list and the sign-ups). `serve` is the public
//! endpoint: sign-ups with double opt-in and one-click unsubscribe.
//!
//! The binary's entry point is [`commands::run`]; the modules made public
//! here are the ones the binary, the integration tests and the benchmarks use.

mod address;
pub mod bounce;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
mod dkim;
pub mod exit;
pub mod fields;
pub mod files;
pub mod i18n;
pub mod intake;
pub mod issue;
pub mod keys;
mod lock;
pub mod message;
mod mime_body;
mod mime_header;
pub mod output;
pub mod preview;
pub mod render;
mod send;
mod serve;
pub mod state;
mod subscribers;
pub mod token;
pub mod transport;
pub mod verp;
