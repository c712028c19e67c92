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

/// Who the preview is for: an address with a name, and the subscriber's
/// other columns when the address is on the list (for personal fields).
#[derive(Debug, Clone)]
pub struct Reader {
    pub mailbox: Mailbox,
    pub attributes: Vec<(std::sync::Arc<str>, String)>,
}

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
pub fn build(issue: &Issue, cfg: &Config, keys: &Keys, reader: &Reader, live: bool) -> Result<Preview> {
    let prepared = render::prepare(issue, cfg)?;
    let factory = MessageFactory::new(cfg, issue, &prepared, keys, SystemTime::now())?;
    let email = reader.mailbox.email.to_string();
    let recipient = Recipient {
        email: &email,
        name: reader.mailbox.name.as_deref(),
        attributes: &reader.attributes,
    };
    let built = factory.build(recipient)?;
    let unsubscribe_url = factory.unsubscribe_url(&email);
    let personal = Personal {
        name: reader.mailbox.name.as_deref(),
        email: &email,
        unsubscribe_url: unsubscribe_url.as_deref(),
        attributes: &reader.attributes,
    };
    let html = prepared.html(&personal);
    let text = prepared.text(&personal);
    let subject = factory.subject_for(&recipient);
    let index = viewer::index_html(&viewer::ViewerInput {
        title: &subject,
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

/// The reader to render for: `--as` (an address or `Name <address>`; an
/// address on the list brings its columns, and its name unless one is
/// given), else the first active subscriber, else a placeholder reader.
pub fn reader(cfg: &Config, as_email: Option<&str>) -> Result<Reader> {
    let list = crate::subscribers::load(&cfg.paths.subscribers);
    let from_list = |s: &crate::subscribers::Subscriber, name: Option<String>| -> Result<Reader> {
        let addr = s
            .email
            .parse()
            .with_context(|| format!("{}: invalid address", s.email))?;
        Ok(Reader {
            mailbox: Mailbox::new(name.or_else(|| s.name.clone()), addr),
            attributes: s.attributes.clone(),
        })
    };
    let alone = |mailbox: Mailbox| Reader {
        mailbox,
        attributes: Vec::new(),
    };
    match as_email {
        Some(spec) => {
            let mbox = crate::address::parse_mailbox(spec).map_err(|e| anyhow::anyhow!("--as: {e}"))?;
            match list.find(mbox.email.as_ref()) {
                Some(s) => from_list(s, mbox.name.clone()),
                None => Ok(alone(mbox)),
            }
        }
        None => match list.all.iter().find(|s| s.status == crate::subscribers::Status::Active) {
            Some(s) => from_list(s, None),
            None => Ok(alone(PLACEHOLDER_READER.parse().expect("valid placeholder"))),
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
        crate::files::create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files: [(&str, &[u8]); 4] = [
            ("email.html", self.html.as_bytes()),
            ("email.txt", self.text.as_bytes()),
            ("message.eml", &self.eml),
            ("index.html", self.index.as_bytes()),
        ];
        for (name, bytes) in files {
            let path = dir.join(name);
            crate::files::write_private(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
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
