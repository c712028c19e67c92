//! HTML and plain-text email bodies rendered from an `Issue` with askama.
//!
//! [`prepare`] does the expensive work once per issue: templates, CSS
//! inlining, wrapping. [`PreparedIssue::write_html`] and
//! [`PreparedIssue::write_text`] then only splice one recipient's escaped
//! values (name and address, unsubscribe URL) between static segments.

pub mod audit;
mod html;
mod html_blocks;
mod inline_css;
mod personal;
mod sanitize;
mod snippet;
mod text;
mod text_html;
mod text_writer;
mod view;
pub mod wrap;

use crate::config::Config;
use crate::fields::{self, FieldRef, Part, Values};
use crate::issue::{Block, Issue};
use anyhow::{ensure, Context, Result};
use askama::Template;
use personal::{Segments, Slot, Slots};
use std::sync::Arc;

pub use view::{allowed_url, resolve_url};

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
    /// The subscriber's other columns, for personal fields such as `{city}`.
    pub attributes: &'a [(Arc<str>, String)],
}

impl<'a> Personal<'a> {
    /// The values personal fields read.
    pub fn values(&self) -> Values<'a> {
        Values {
            name: self.name,
            email: self.email,
            attributes: self.attributes,
        }
    }
}

/// An issue rendered once, ready to be personalised per recipient.
#[derive(Debug, Clone)]
pub struct PreparedIssue {
    html: Segments,
    text: Segments,
    /// The personal fields the bodies show, by slot number.
    fields: Vec<FieldRef>,
    /// Text-body snippets rendered per recipient, by slot number.
    snippets: Vec<snippet::TextSnippet>,
    snippet_context: snippet::SnippetContext,
    /// Plain title of the issue (front matter), CR/LF removed.
    pub title: String,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    html_blocks::escape_into(&mut out, s);
    out
}

/// Renders both bodies of `issue` with the newsletter settings of `cfg`.
pub fn prepare(issue: &Issue, cfg: &Config) -> Result<PreparedIssue> {
    let v = view::IssueView::new(issue, cfg);
    let slots = Slots::new();
    let mut fields = Vec::new();
    let template = |text: &str, what: &str| {
        fields::Template::parse(text)
            .map(|t| t.fill_issue(issue))
            .map_err(|e| anyhow::anyhow!("{}: {what}: {e}", cfg.path.display()))
    };
    let subject = mark_fields(
        &template(&cfg.newsletter.subject, "[newsletter] subject")?,
        &slots,
        &mut fields,
        true,
    );
    let mut snippet = |s: &Option<crate::config::theme::Snippet>, what: &str| -> Result<Option<Vec<Block>>> {
        let Some(s) = s else { return Ok(None) };
        let marked = mark_fields(&template(&s.text, what)?, &slots, &mut fields, false);
        let blocks = crate::issue::snippet_blocks(&marked)
            .map_err(|e| anyhow::anyhow!("{}: {what}: {e}", cfg.path.display()))?;
        Ok(Some(blocks))
    };
    let header = snippet(&cfg.theme.header, "[theme] header")?;
    let footer = snippet(&cfg.theme.footer, "[theme] footer")?;
    let extras = html::Extras {
        subject,
        header: header.as_deref(),
        footer: footer.as_deref(),
        slots: &slots,
    };
    let text_body = text::EmailText::new(issue, &v, &extras);
    let mut text = text_body
        .render()
        .with_context(|| format!("{}: rendering the text body", issue.path.display()))?;
    let snippets = text_body.personal;
    text.push('\n');
    let html = html::EmailHtml::new(issue, &v, extras)
        .render()
        .with_context(|| format!("{}: rendering the HTML body", issue.path.display()))?;
    let head_css = inline_css::HeadCss {
        dark_link: &v.theme.dark_link_color.hex(),
    }
    .render()
    .context("rendering the head style")?;
    let html = inline_css::inline_css(&html, &head_css).with_context(|| issue.path.display().to_string())?;
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
        fields,
        snippets,
        snippet_context: snippet::SnippetContext {
            slots,
            labels: v.labels,
            base: v.base,
        },
        title: v.title,
    })
}

/// The template as text with each personal field replaced by a slot marker;
/// `one_line` for the subject (markdown snippets keep their lines).
fn mark_fields(t: &fields::Template, slots: &Slots, list: &mut Vec<FieldRef>, one_line: bool) -> String {
    let mut out = String::new();
    for p in &t.parts {
        match p {
            Part::Text(s) if one_line => out.extend(s.chars().map(|c| if c.is_control() { ' ' } else { c })),
            Part::Text(s) => out.push_str(s),
            Part::Field(f) => {
                out.push_str(&slots.field(list.len()));
                list.push(f.clone());
            }
        }
    }
    out
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
        self.html_into(p, out, false);
    }

    /// Appends what follows [`Self::html_common_prefix`] in one recipient's HTML body.
    pub fn write_html_rest(&self, p: &Personal, out: &mut String) {
        self.html_into(p, out, true);
    }

    /// Appends the plain-text body for one recipient.
    pub fn write_text(&self, p: &Personal, out: &mut String) {
        self.text_into(p, out, false);
    }

    /// Appends what follows [`Self::text_common_prefix`] in one recipient's text body.
    pub fn write_text_rest(&self, p: &Personal, out: &mut String) {
        self.text_into(p, out, true);
    }

    fn html_into(&self, p: &Personal, out: &mut String, rest_only: bool) {
        let url = personal_url(p);
        let value = |slot, out: &mut String| match slot {
            Slot::Recipient => html_blocks::escape_into(out, &recipient(p)),
            Slot::UnsubscribeUrl => html_blocks::escape_into(out, url.unwrap_or_default()),
            Slot::Field(n) => html_blocks::escape_into(out, &self.field(n, p)),
            Slot::Snippet(_) => {}
        };
        if rest_only {
            self.html.write_rest(out, url.is_some(), value);
        } else {
            self.html.write(out, url.is_some(), value);
        }
    }

    fn text_into(&self, p: &Personal, out: &mut String, rest_only: bool) {
        let url = personal_url(p);
        let value = |slot, out: &mut String| match slot {
            Slot::Recipient => out.push_str(&recipient(p)),
            Slot::UnsubscribeUrl => out.push_str(url.unwrap_or_default()),
            Slot::Field(n) => out.push_str(&self.field(n, p)),
            Slot::Snippet(n) => {
                if let Some(s) = self.snippets.get(n) {
                    out.push_str(&s.render(&self.snippet_context, &|f| self.field(f, p)));
                }
            }
        };
        if rest_only {
            self.text.write_rest(out, url.is_some(), value);
        } else {
            self.text.write(out, url.is_some(), value);
        }
    }

    fn field(&self, n: usize, p: &Personal) -> String {
        self.fields
            .get(n)
            .map(|f| fields::value(f, &p.values()))
            .unwrap_or_default()
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

    /// Room for the HTML body after its common prefix, with typical personal values.
    pub fn html_rest_capacity(&self) -> usize {
        rest_capacity(&self.html)
    }

    /// Room for the text body after its common prefix, with typical personal values.
    pub fn text_rest_capacity(&self) -> usize {
        rest_capacity(&self.text)
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

fn rest_capacity(body: &Segments) -> usize {
    body.static_len(true).max(body.static_len(false)) - body.common_prefix().len() + PERSONAL_ALLOWANCE
}

/// The unsubscribe URL if it may be emitted as a link.
fn personal_url<'a>(p: &Personal<'a>) -> Option<&'a str> {
    p.unsubscribe_url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .and_then(allowed_url)
}

/// `Name <email>` or the address, on one line whatever the subscriber file held.
fn recipient(p: &Personal) -> String {
    let email = view::one_line_cow(p.email);
    match p.name.map(view::one_line_cow).filter(|n| !n.is_empty()) {
        Some(name) => [&*name, " <", &email, ">"].concat(),
        None => email.into_owned(),
    }
}

#[cfg(test)]
mod tests;
