//! Transports: "envelope + bytes → sink", SMTP through lettre or dry-run `.eml` files.
pub mod smtp;
