//! newsletter: send a weekly newsletter issue, written as a Hugo markdown post,
//! to a list of subscribers by email.
//!
//! Pipeline: issue file → [`issue`] parser → [`issue::Issue`] → [`render`]
//! (HTML + text bodies) → [`message`] (MIME) → [`dispatch`] → [`transport`]
//! (SMTP or dry-run files) → [`state`] (journal and suppression list).

pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod dispatch;
pub mod exit;
pub mod fields;
pub mod i18n;
pub mod issue;
pub mod journal;
pub mod lock;
pub mod message;
pub mod mime_body;
pub mod output;
pub mod preview;
pub mod ratelimit;
pub mod render;
pub mod state;
pub mod subscribers;
pub mod token;
pub mod transport;
pub mod unsubscribe_server;
