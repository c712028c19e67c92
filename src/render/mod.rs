//! HTML and plain-text email bodies rendered from an `Issue` with askama.
//!
//! [`prepare`] does the expensive work once per issue: templates, CSS
//! inlining, wrapping. [`PreparedIssue::write_html`] and
//! [`PreparedIssue::write_text`] then only splice one recipient's escaped
//! values (name and address, unsubscribe URL) between static segments.

mod html;
mod inline_css;
mod personal;
mod text;
mod view;
pub mod wrap;

use crate::config::Config;
use crate::issue::Issue;
use anyhow::{ensure, Context, Result};
use askama::Template;
use personal::{Segments, Slot, Slots};

pub use view::allowed_url;

/// Gmail clips an HTML body above about 102 KB ("[Message clipped]"), hiding
/// the footer with the unsubscribe link. Counted in bytes of decoded HTML.
pub const GMAIL_CLIP_BYTES: usize = 102_000;

/// Room left for the personal values in [`PreparedIssue::html_size_estimate`].
const PERSONAL_ALLOWANCE: usize = 512;

/// One recipient's values; everything else in the bodies is shared.
#[derive(Debug, Clone, Copy)]
pub struct Personal<'a> {
    pub name: Option<&'a str>,
    pub email: &'a str,
    /// The one-click URL with this recipient's token; None without a token key.
    pub unsubscribe_url: Option<&'a str>,
}

/// An issue rendered once, ready to be personalised per recipient.
#[derive(Debug, Clone)]
pub struct PreparedIssue {
    html: Segments,
    text: Segments,
    /// Plain title of the issue (front matter), CR/LF removed.
    pub title: String,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    html::escape_into(&mut out, s);
    out
}

/// Renders both bodies of `issue` with the newsletter settings of `cfg`.
pub fn prepare(issue: &Issue, cfg: &Config) -> Result<PreparedIssue> {
    let v = view::IssueView::new(issue, cfg);
    let slots = Slots::new();
    let html = html::EmailHtml::new(issue, &v, &slots)
        .render()
        .with_context(|| format!("{}: rendering the HTML body", issue.path.display()))?;
    let html = inline_css::inline_css(&html).with_context(|| issue.path.display().to_string())?;
    let mut text = text::EmailText::new(issue, &v, &slots)
        .render()
        .with_context(|| format!("{}: rendering the text body", issue.path.display()))?;
    text.push('\n');
    let html = slots.split(&html)?;
    let text = slots.split(&text)?;
    for (body, name) in [(&html, "HTML"), (&text, "text")] {
        // The sentinels must survive templating and CSS inlining intact.
        ensure!(
            body.count(Slot::Recipient) == 1,
            "{name} body lost its recipient placeholder"
        );
        ensure!(
            body.count(Slot::UnsubscribeUrl) == 1,
            "{name} body lost its unsubscribe placeholder"
        );
    }
    Ok(PreparedIssue {
        html,
        text,
        title: v.title,
    })
}

impl PreparedIssue {
    /// The start of the HTML body that is the same for every recipient.
    pub fn html_common_prefix(&self) -> &str {
        self.html.common_prefix()
    }

    /// The start of the text body that is the same for every recipient.
    pub fn text_common_prefix(&self) -> &str {
        self.text.common_prefix()
    }

    /// Appends the HTML body for one recipient.
    pub fn write_html(&self, p: &Personal, out: &mut String) {
        let url = personal_url(p);
        self.html.write(out, url.is_some(), |slot, out| match slot {
            Slot::Recipient => html::escape_into(out, &recipient(p)),
            Slot::UnsubscribeUrl => html::escape_into(out, url.unwrap_or_default()),
        });
    }

    /// Appends the plain-text body for one recipient.
    pub fn write_text(&self, p: &Personal, out: &mut String) {
        let url = personal_url(p);
        self.text.write(out, url.is_some(), |slot, out| match slot {
            Slot::Recipient => out.push_str(&recipient(p)),
            Slot::UnsubscribeUrl => out.push_str(url.unwrap_or_default()),
        });
    }

    pub fn html(&self, p: &Personal) -> String {
        let mut out = String::with_capacity(self.html.static_len(true) + PERSONAL_ALLOWANCE);
        self.write_html(p, &mut out);
        out
    }

    pub fn text(&self, p: &Personal) -> String {
        let mut out = String::with_capacity(self.text.static_len(true) + PERSONAL_ALLOWANCE);
        self.write_text(p, &mut out);
        out
    }

    /// Bytes of the HTML body for a recipient with typical personal values.
    pub fn html_size_estimate(&self) -> usize {
        self.html.static_len(true).max(self.html.static_len(false)) + PERSONAL_ALLOWANCE
    }

    /// A warning for `newsletter check` when Gmail would clip the HTML body.
    pub fn clip_warning(&self) -> Option<String> {
        let size = self.html_size_estimate();
        (size > GMAIL_CLIP_BYTES).then(|| {
            format!(
                "rendered HTML is about {} KB; Gmail clips messages above {} KB and hides the unsubscribe link",
                size / 1000,
                GMAIL_CLIP_BYTES / 1000
            )
        })
    }
}

/// The unsubscribe URL if it may be emitted as a link.
fn personal_url<'a>(p: &Personal<'a>) -> Option<&'a str> {
    p.unsubscribe_url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .and_then(allowed_url)
}

/// `Name <email>` or the address, on one line whatever the subscriber file held.
fn recipient(p: &Personal) -> String {
    let email = view::one_line(p.email);
    match p.name.map(view::one_line).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} <{email}>"),
        None => email,
    }
}

#[cfg(test)]
mod tests;
