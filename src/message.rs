//! One MIME message per recipient: headers, Message-ID, List-Unsubscribe, DKIM.
//!
//! Everything that is the same for every recipient (subject, sender, list
//! headers, DKIM key, rendered issue, the bodies' encoded common start) is
//! prepared once in [`MessageFactory`]; [`MessageFactory::build`] only adds
//! the personal parts, writing the message into one buffer (`assemble`: the
//! bytes lettre's builder made, which `reference` keeps for the tests). The
//! clock comes in from outside and boundaries derive from the Message-ID, so a
//! message's bytes are a function of its inputs (dry-run `.eml` files compare
//! byte for byte).

use crate::config::Config;
use crate::fields::{Part, Template, Values};
use crate::issue::Issue;
use crate::keys::Keys;
use crate::mime_body::PreEncoded;
use crate::render::{Personal, PreparedIssue};
use anyhow::{anyhow, bail};
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::Address;
use sha2::{Digest, Sha256};
use std::time::SystemTime;

mod assemble;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

/// Longest issue id: it names the Message-ID and the outbox folder.
pub const MAX_ID_LEN: usize = 100;

/// An issue id names the Message-ID's left part, the outbox and preview
/// folders and the journal's rows: ASCII letters, digits, `-`, `_` and `.`
/// (not first), as for a `slug`, so never a path. A file stem is held to it too.
pub fn valid_issue_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !id.starts_with('.')
}

/// Who one message goes to.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    /// The subscriber's other columns, for personal fields (`{city}`).
    pub attributes: &'a [(std::sync::Arc<str>, String)],
}

impl<'a> Recipient<'a> {
    /// An address (and name) with no other columns: a test copy, a preview reader.
    pub fn bare(email: &'a str, name: Option<&'a str>) -> Self {
        Recipient {
            email,
            name,
            attributes: &[],
        }
    }
}

impl<'a> From<&'a crate::subscribers::Subscriber> for Recipient<'a> {
    fn from(s: &'a crate::subscribers::Subscriber) -> Self {
        Recipient {
            email: &s.email,
            name: s.name.as_deref(),
            attributes: &s.attributes,
        }
    }
}

/// A message ready for a transport: "envelope + bytes".
#[derive(Debug, Clone)]
pub struct Built {
    pub envelope: Envelope,
    pub message_id: String,
    pub bytes: Vec<u8>,
}

/// Builds one recipient's message; what the dispatcher needs from a message
/// factory (tests give it a stand-in).
pub trait Compose: Sync {
    fn build(&self, r: Recipient<'_>) -> anyhow::Result<Built>;
}

impl Compose for MessageFactory<'_> {
    fn build(&self, r: Recipient<'_>) -> anyhow::Result<Built> {
        MessageFactory::build(self, r)
    }
}

/// Builds every recipient's message for one issue.
pub struct MessageFactory<'a> {
    cfg: &'a Config,
    issue_id: String,
    prepared: &'a PreparedIssue,
    /// The subject template with the issue's fields filled in; the
    /// subscriber's are filled per recipient.
    subject: Template,
    from_domain: String,
    keys: &'a Keys,
    /// The unsubscribe-token key, derived once from `keys.unsubscribe`.
    token_key: Option<crate::token::TokenKey>,
    /// With VERP: the envelope sender's template, the key and this issue's
    /// tag, made once; each recipient adds their own tag.
    verp: Option<(
        &'a crate::verp::Template,
        &'a crate::verp::VerpKey,
        [u8; crate::verp::ISSUE_TAG],
    )>,
    /// `<mailto:…?subject=unsubscribe>` for List-Unsubscribe, when configured.
    unsubscribe_mailto: Option<String>,
    /// The headers and MIME part headers that are the same for every recipient, encoded once.
    statics: assemble::Statics,
    /// The bodies' common start, base64-encoded once.
    text_body: PreEncoded,
    html_body: PreEncoded,
}

impl<'a> MessageFactory<'a> {
    /// Prepares the per-issue parts. Fails (naming the source) when a header
    /// value would carry CR or LF or when the subject template is malformed.
    /// (Unknown fields are `check`'s job: it knows the list's columns.) The
    /// keys and the clock come from the caller.
    pub fn new(
        cfg: &'a Config,
        issue: &Issue,
        prepared: &'a PreparedIssue,
        keys: &'a Keys,
        date: SystemTime,
    ) -> anyhow::Result<Self> {
        let subject = Template::parse(&cfg.newsletter.subject)
            .map_err(|e| anyhow!("{}: [newsletter] subject: {e}", cfg.path.display()))?
            .fill_issue(issue);
        let problem = subject.parts.iter().find_map(|p| match p {
            Part::Text(t) => crate::mime_header::text_problem(t),
            _ => None,
        });
        if let Some(problem) = problem {
            let subject = subject.render(&Values {
                name: None,
                email: "",
                attributes: &[],
            });
            bail!(
                "{}: the subject built from the issue's front matter contains {problem}: \"{}\"",
                issue.path.display(),
                subject.escape_debug()
            );
        }
        if !valid_issue_id(&issue.id) {
            bail!(
                "{}: issue id \"{}\" must be 1 to {MAX_ID_LEN} letters, digits, `-`, `_` and `.` \
                 (not first); rename the file or set `slug` in the front matter",
                issue.path.display(),
                issue.id.escape_debug()
            );
        }
        Ok(MessageFactory {
            cfg,
            issue_id: issue.id.clone(),
            prepared,
            subject,
            from_domain: cfg.newsletter.from.email.domain().to_string(),
            keys,
            token_key: keys.unsubscribe.as_ref().map(crate::token::TokenKey::derive),
            verp: match (&cfg.newsletter.verp, &keys.verp) {
                (Some(template), Some(key)) => Some((template, key, key.issue_tag(&issue.id))),
                _ => None,
            },
            statics: assemble::Statics::new(&cfg.newsletter, date),
            unsubscribe_mailto: cfg
                .newsletter
                .unsubscribe_mailto
                .as_ref()
                .map(|m| format!("<mailto:{m}?subject=unsubscribe>")),
            text_body: PreEncoded::new(prepared.text_common_prefix()),
            html_body: PreEncoded::new(prepared.html_common_prefix()),
        })
    }

    /// Marks the messages as test copies (`[TEST] ` subject prefix).
    pub fn test_copies(mut self) -> Self {
        self.subject.parts.insert(0, Part::Text("[TEST] ".into()));
        self
    }

    /// The subject for one recipient (personal fields filled, on one line).
    pub fn subject_for(&self, r: &Recipient<'_>) -> String {
        let values = Values {
            name: r.name,
            email: r.email,
            attributes: r.attributes,
        };
        self.subject.render(&values)
    }

    /// `<issue-id.hash@from-domain>`: the same for the same issue and
    /// recipient on every attempt, different across recipients.
    pub fn message_id(&self, email: &str) -> String {
        format!(
            "<{}.{}@{}>",
            self.issue_id,
            recipient_hash(&self.issue_id, email),
            self.from_domain
        )
    }

    /// The envelope sender: with VERP, `bounce_address` with this
    /// recipient's token; it is never written into the message itself.
    pub fn envelope_sender(&self, email: &str) -> Address {
        match self.verp {
            Some((template, key, issue)) => template.address(&key.token_with(&issue, email)),
            None => self.cfg.newsletter.bounce_address.clone(),
        }
    }

    /// The recipient's one-click unsubscribe URL, when a URL and a key are configured.
    pub fn unsubscribe_url(&self, email: &str) -> Option<String> {
        let key = self.token_key.as_ref()?;
        crate::token::unsubscribe_url_with(self.cfg, key, email)
    }

    /// The recipient's subject, once it and their name are safe for a
    /// header: personal fields come from the list, so they are checked here.
    fn header_texts(&self, r: &Recipient<'_>) -> anyhow::Result<String> {
        if let Some(problem) = r.name.and_then(crate::mime_header::text_problem) {
            bail!("recipient {}: the name contains {problem}", r.email);
        }
        let subject = self.subject_for(r);
        if let Some(problem) = crate::mime_header::text_problem(&subject) {
            bail!(
                "recipient {}: the subject with their fields filled in contains {problem}",
                r.email
            );
        }
        Ok(subject)
    }

    /// Builds one recipient's message: the same bytes lettre's builder
    /// makes (see [`assemble`]), assembled in one buffer.
    pub fn build(&self, r: Recipient<'_>) -> anyhow::Result<Built> {
        let Parts {
            to,
            subject,
            message_id,
            unsubscribe_url,
            envelope,
        } = self.parts(r)?;
        let personal = personal(r, unsubscribe_url.as_deref());
        let heads = assemble::PersonalHeaders::new(
            to,
            &subject,
            &message_id,
            self.list_unsubscribe(unsubscribe_url.as_deref()),
            one_click(unsubscribe_url.as_deref()),
        );
        let boundary = boundary(&message_id);
        let bytes = assemble::message(self, heads, &personal, &boundary);
        if let Some(problem) = crate::mime_header::overlong_header(&bytes) {
            bail!("recipient {}: {problem}", r.email);
        }
        Ok(Built {
            envelope,
            message_id,
            bytes,
        })
    }

    /// What one recipient's message is made of besides its bodies, however
    /// its bytes are then put together.
    fn parts(&self, r: Recipient<'_>) -> anyhow::Result<Parts> {
        let to_addr: Address = r
            .email
            .parse()
            .map_err(|e| anyhow!("recipient {}: invalid address: {e}", r.email))?;
        let subject = self.header_texts(&r)?;
        let to = Mailbox::new(r.name.filter(|n| !n.is_empty()).map(str::to_string), to_addr.clone());
        let envelope = Envelope::new(Some(self.envelope_sender(r.email)), vec![to_addr])
            .map_err(|e| anyhow!("recipient {}: {e}", r.email))?;
        Ok(Parts {
            to,
            subject,
            message_id: self.message_id(r.email),
            unsubscribe_url: self.unsubscribe_url(r.email),
            envelope,
        })
    }

    /// The List-Unsubscribe value: the one-click URL and the mailto address, as configured.
    fn list_unsubscribe(&self, url: Option<&str>) -> Option<String> {
        match (url, &self.unsubscribe_mailto) {
            (Some(url), Some(mailto)) => Some(format!("<{url}>, {mailto}")),
            (Some(url), None) => Some(format!("<{url}>")),
            (None, Some(mailto)) => Some(mailto.clone()),
            (None, None) => None,
        }
    }
}

/// One recipient's headers and envelope ([`MessageFactory::parts`]).
struct Parts {
    to: Mailbox,
    subject: String,
    message_id: String,
    unsubscribe_url: Option<String>,
    envelope: Envelope,
}

/// The recipient's values for the bodies' personal parts.
fn personal<'a>(r: Recipient<'a>, unsubscribe_url: Option<&'a str>) -> Personal<'a> {
    Personal {
        name: r.name,
        email: r.email,
        unsubscribe_url,
        attributes: r.attributes,
    }
}

/// RFC 8058 one-click unsubscribe (List-Unsubscribe-Post) needs an https URL.
fn one_click(unsubscribe_url: Option<&str>) -> bool {
    unsubscribe_url.is_some_and(|u| u.starts_with("https://"))
}

/// The MIME boundary of a message: derived from its Message-ID, so a
/// message's bytes are a function of its inputs.
fn boundary(message_id: &str) -> String {
    format!("=_nl_{}", recipient_hash(message_id, "boundary"))
}

/// 16 hex digits of SHA-256 over the issue id and the lower-cased address.
pub fn recipient_hash(issue_id: &str, email: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut h = Sha256::new();
    h.update(issue_id.as_bytes());
    h.update([0u8]);
    h.update(crate::address::key(email).as_bytes());
    let digest = h.finalize();
    let mut hex = String::with_capacity(16);
    for b in &digest[..8] {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}
