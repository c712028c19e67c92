//! `newsletter preview`: one issue rendered for one reader into `email.html`,
//! `email.txt`, `message.eml` and an `index.html` viewer; `serve` keeps them
//! fresh behind a local web page.

pub mod serve;
mod viewer;

use crate::config::Config;
use crate::issue::Issue;
use crate::keys::Keys;
use crate::message::{MessageFactory, Recipient};
use crate::render::{self, Personal};
use anyhow::{Context, Result};
use lettre::message::Mailbox;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The reader shown when no subscriber is chosen.
pub const PLACEHOLDER_READER: &str = "Reader <reader@example.com>";

/// The four preview files, in memory.
pub struct Preview {
    pub html: String,
    pub text: String,
    pub eml: Vec<u8>,
    pub index: String,
}

/// Renders `issue` for `reader` with the send path's message builder, so
/// `message.eml` is what `send` would deliver to them. `live`: the viewer polls
/// `/version` to reload.
pub fn build(issue: &Issue, cfg: &Config, keys: &Keys, reader: &Mailbox, live: bool) -> Result<Preview> {
    let prepared = render::prepare(issue, cfg)?;
    let factory = MessageFactory::new(cfg, issue, &prepared, keys, SystemTime::now())?;
    let email = reader.email.to_string();
    let built = factory.build(Recipient {
        email: &email,
        name: reader.name.as_deref(),
    })?;
    let unsubscribe_url = factory.unsubscribe_url(&email);
    let personal = Personal {
        name: reader.name.as_deref(),
        email: &email,
        unsubscribe_url: unsubscribe_url.as_deref(),
    };
    let html = prepared.html(&personal);
    let text = prepared.text(&personal);
    let index = viewer::index_html(&viewer::ViewerInput {
        title: factory.subject(),
        eml: &built.bytes,
        text: &text,
        html_size: html.len(),
        live,
        error: None,
    })?;
    Ok(Preview {
        html,
        text,
        eml: built.bytes,
        index,
    })
}

/// The reader to render for: `--as` (an address or `Name <address>`; a bare
/// address takes its name from the list), else the first active subscriber,
/// else a placeholder reader.
pub fn reader(cfg: &Config, as_email: Option<&str>) -> Result<Mailbox> {
    let list = crate::subscribers::load(&cfg.paths.subscribers);
    let from_list = |s: &crate::subscribers::Subscriber| -> Result<Mailbox> {
        let addr = s
            .email
            .parse()
            .with_context(|| format!("{}: invalid address", s.email))?;
        Ok(Mailbox::new(s.name.clone(), addr))
    };
    match as_email {
        Some(spec) => {
            let mbox = crate::address::parse_mailbox(spec).map_err(|e| anyhow::anyhow!("--as: {e}"))?;
            match (&mbox.name, list.find(mbox.email.as_ref())) {
                (None, Some(s)) => from_list(s),
                _ => Ok(mbox),
            }
        }
        None => match list.all.iter().find(|s| s.status == crate::subscribers::Status::Active) {
            Some(s) => from_list(s),
            None => Ok(PLACEHOLDER_READER.parse().expect("valid placeholder")),
        },
    }
}

/// `preview/<issue-id>/` next to the config file.
pub fn default_out_dir(cfg: &Config, issue_id: &str) -> PathBuf {
    let base = cfg.path.parent().map(Path::to_path_buf).unwrap_or_default();
    base.join("preview").join(issue_id)
}

impl Preview {
    /// Writes the four files into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files: [(&str, &[u8]); 4] = [
            ("email.html", self.html.as_bytes()),
            ("email.txt", self.text.as_bytes()),
            ("message.eml", &self.eml),
            ("index.html", self.index.as_bytes()),
        ];
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// The viewer page alone, showing `error` (for a failed rebuild under `--serve`).
pub fn error_index(title: &str, error: &str, live: bool) -> Result<String> {
    viewer::index_html(&viewer::ViewerInput {
        title,
        eml: b"",
        text: "",
        html_size: 0,
        live,
        error: Some(error),
    })
}
