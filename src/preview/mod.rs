//! `newsletter preview`: one issue rendered for one reader into `email.html`,
//! `email.txt`, `message.eml` and an `index.html` viewer; `serve` keeps them
//! fresh behind a local web page.

pub mod serve;
mod viewer;

use crate::config::Config;
use crate::issue::Issue;
use crate::render::{self, Personal};
use anyhow::{Context, Result};
use lettre::message::{Mailbox, MultiPart};
use std::path::{Path, PathBuf};

/// The reader shown when no subscriber is chosen.
pub const PLACEHOLDER_READER: &str = "Reader <reader@example.com>";

/// Stands in for the recipient's token until the token module is wired in.
pub const PREVIEW_TOKEN: &str = "PREVIEW-TOKEN";

/// The four preview files, in memory.
pub struct Preview {
    pub html: String,
    pub text: String,
    pub eml: Vec<u8>,
    pub index: String,
}

/// Renders `issue` for `reader`. `live`: the viewer polls `/version` to reload.
pub fn build(issue: &Issue, cfg: &Config, reader: &Mailbox, live: bool) -> Result<Preview> {
    let prepared = render::prepare(issue, cfg)?;
    // TODO(lead): replace PREVIEW_TOKEN with the reader's real token once the token module lands.
    let unsubscribe_url = cfg
        .newsletter
        .unsubscribe_url
        .as_ref()
        .map(|u| u.replace("{token}", PREVIEW_TOKEN));
    let personal = Personal {
        name: reader.name.as_deref(),
        email: reader.email.as_ref(),
        unsubscribe_url: unsubscribe_url.as_deref(),
    };
    let html = prepared.html(&personal);
    let text = prepared.text(&personal);
    let subject = preview_subject(issue, cfg);
    let eml = build_preview_message(cfg, reader, &subject, &text, &html)?;
    let index = viewer::index_html(&viewer::ViewerInput {
        title: &subject,
        eml: &eml,
        text: &text,
        html_size: html.len(),
        live,
        error: None,
    })?;
    Ok(Preview { html, text, eml, index })
}

/// A stand-in subject: `{title}`/`{id}` of the configured template.
// TODO(lead): use the real subject builder from the send path.
fn preview_subject(issue: &Issue, cfg: &Config) -> String {
    let title: String = issue
        .front
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cfg.newsletter
        .subject
        .replace("{title}", &title)
        .replace("{id}", &issue.id)
}

/// The MIME message: multipart/alternative, text first, then HTML.
// TODO(lead): replace with the send path's message builder so message.eml is
// exactly what `send` delivers (List-Unsubscribe, Message-ID, DKIM...).
fn build_preview_message(cfg: &Config, to: &Mailbox, subject: &str, text: &str, html: &str) -> Result<Vec<u8>> {
    let mut builder = lettre::Message::builder()
        .from(cfg.newsletter.from.clone())
        .to(to.clone())
        .subject(subject)
        .date_now();
    if let Some(r) = &cfg.newsletter.reply_to {
        builder = builder.reply_to(r.clone());
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text.to_string(), html.to_string()))
        .context("building the preview message")?;
    Ok(message.formatted())
}

/// The reader to render for: `--as` (an address or `Name <address>`), else the placeholder.
pub fn reader(as_email: Option<&str>) -> Result<Mailbox> {
    // TODO(lead): without --as, use the first active subscriber once the loader lands;
    // with --as, take the name from the subscriber list.
    let spec = as_email.unwrap_or(PLACEHOLDER_READER);
    spec.parse::<Mailbox>()
        .with_context(|| format!("--as {spec:?}: not an email address"))
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
