//! The one integration test crate: runs the `newsletter` binary against temp
//! folders, real SMTP servers on loopback and the shared corpus.

mod authoring;
mod bounce_corpus;
mod bounce_fetch;
mod bounce_intake;
mod bounces;
mod check_command;
mod corpus_parse;
mod cron;
mod dovecot;
mod harness;
mod http_client;
mod init;
mod issue_errors;
mod journal;
mod parser_props;
mod personal;
mod preview;
mod render;
mod render_corpus;
mod send;
mod send_rules;
mod serve;
mod serve_hardening;
mod smtp_server;
mod smtp_settings;
mod smtp_tls;
mod smtp_transport;
mod spamassassin;
mod subscribers;
mod theme;
mod unsubscribe;
mod ux_check;
