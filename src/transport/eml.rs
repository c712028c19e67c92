//! The dry-run sink: one `.eml` file per recipient in a folder; connects to nothing.

use super::smtp::{Cause, SmtpError, Stage};
use super::{Outgoing, Sink};
use std::path::{Path, PathBuf};

/// Writes each message to `<dir>/<address>.eml`.
pub struct EmlSink {
    dir: PathBuf,
}

impl EmlSink {
    /// Creates the folder if needed.
    pub fn new(dir: PathBuf) -> anyhow::Result<Self> {
        crate::files::create_private_dir(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
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
        message: Outgoing<'_>,
        _next: Option<Outgoing<'_>>,
        before_content: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), SmtpError> {
        if !before_content() {
            return Err(SmtpError::new(Stage::Message, Cause::Withheld));
        }
        for to in message.envelope.to() {
            let path = eml_path(&self.dir, to.as_ref());
            crate::files::write_private(&path, message.bytes).map_err(|e| {
                let msg = format!("writing {}: {e}", path.display());
                SmtpError::new(Stage::Message, Cause::Protocol(msg))
            })?;
        }
        Ok(())
    }

    async fn quit(&self, _: ()) {}
}

/// The `.eml` file for one recipient: the address key with every byte
/// outside `a-z 0-9 @ . - _ +` written as `%XX` (and a leading `.`, so no
/// file is hidden). Distinct addresses get distinct files and the name
/// decodes back to the address. A name too long for the file system (only
/// an address full of escapes gets there) is cut and ends in a hash instead.
pub fn eml_path(dir: &Path, email: &str) -> PathBuf {
    use std::fmt::Write;
    let key = crate::address::key(email);
    let mut name = String::with_capacity(key.len() + 8);
    for (i, b) in key.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b"@-_+".contains(&b) || (b == b'.' && i > 0);
        if safe {
            name.push(b as char);
        } else {
            let _ = write!(name, "%{b:02X}");
        }
    }
    // 255 bytes is the usual limit on a file name.
    if name.len() > 240 {
        let mut cut = 200;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}~{}", &name[..cut], crate::message::recipient_hash("eml", &key));
    }
    dir.join(format!("{name}.eml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_distinct_and_reversible() {
        let dir = Path::new("out");
        let names: Vec<String> = [
            "a/b@x.org",
            "a|b@x.org",
            "a'b@x.org",
            "a_b@x.org",
            "a%2Fb@x.org",
            ".a@x.org",
        ]
        .iter()
        .map(|e| eml_path(dir, e).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
        assert_eq!(
            names,
            [
                "a%2Fb@x.org.eml",
                "a%7Cb@x.org.eml",
                "a%27b@x.org.eml",
                "a_b@x.org.eml",
                "a%252fb@x.org.eml",
                "%2Ea@x.org.eml"
            ]
        );
        assert_eq!(eml_path(dir, "Ann@Example.com"), dir.join("ann@example.com.eml"));
        let long = format!("{}@x.org", "/".repeat(120));
        let name = eml_path(dir, &long).file_name().unwrap().len();
        assert!(name <= 255, "{name}");
    }
}
