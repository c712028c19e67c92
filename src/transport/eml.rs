//! The dry-run sink: one `.eml` file per recipient in a folder; connects to nothing.

use super::smtp::{Cause, SmtpError, Stage};
use super::Sink;
use lettre::address::Envelope;
use std::path::{Path, PathBuf};

/// Writes each message to `<dir>/<address>.eml`.
pub struct EmlSink {
    dir: PathBuf,
}

impl EmlSink {
    /// Creates the folder if needed.
    pub fn new(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        Ok(EmlSink { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Sink for EmlSink {
    type Conn = ();

    async fn connect(&self) -> Result<(), SmtpError> {
        Ok(())
    }

    async fn send(
        &self,
        _: &mut (),
        envelope: &Envelope,
        bytes: &[u8],
        before_content: &(dyn Fn() + Sync),
    ) -> Result<(), SmtpError> {
        before_content();
        for to in envelope.to() {
            let path = eml_path(&self.dir, to.as_ref());
            std::fs::write(&path, bytes).map_err(|e| {
                let msg = format!("writing {}: {e}", path.display());
                SmtpError::new(Stage::Message, Cause::Protocol(msg))
            })?;
        }
        Ok(())
    }

    async fn quit(&self, _: ()) {}
}

/// The `.eml` file for one recipient: the address key, made safe as a file name.
pub fn eml_path(dir: &Path, email: &str) -> PathBuf {
    let name: String = crate::address::key(email)
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
