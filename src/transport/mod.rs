//! Transports: "envelope + bytes → sink". SMTP through lettre's low-level
//! client, or dry-run `.eml` files; chosen with an enum.

pub mod smtp;

use crate::message::Built;
use anyhow::Context;
use std::path::{Path, PathBuf};

pub enum Transport {
    Smtp(smtp::SmtpSettings),
    /// Write one `.eml` per recipient into this folder; connect to nothing.
    DryRun {
        dir: PathBuf,
    },
}

/// The `.eml` file for one recipient: the lower-cased address, made safe as a file name.
pub fn eml_path(dir: &Path, email: &str) -> PathBuf {
    let name: String = email
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-_+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}.eml"))
}

/// Writes a message as a dry-run `.eml` file.
pub fn write_eml(dir: &Path, email: &str, built: &Built) -> anyhow::Result<()> {
    let path = eml_path(dir, email);
    std::fs::write(&path, &built.bytes).with_context(|| format!("writing {}", path.display()))
}
