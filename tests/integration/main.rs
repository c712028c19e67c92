//! The one integration test crate: runs the `newsletter` binary against temp
//! folders, real SMTP servers on loopback and the shared corpus.

mod harness;
mod corpus_parse;
mod issue_errors;
mod check_command;
mod parser_props;
