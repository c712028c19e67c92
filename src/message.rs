//! One MIME message per recipient: headers, Message-ID, List-Unsubscribe, DKIM.
//!
//! Everything that is the same for every recipient (subject, sender, list
//! headers, DKIM key, rendered issue) is prepared once in [`MessageFactory`];
//! [`MessageFactory::build`] only adds the personal parts. The clock comes in
//! from outside and boundaries derive from the Message-ID, so a message's bytes
//! are a function of its inputs (dry-run `.eml` files compare byte for byte).

use crate::config::Config;
use crate::fields::{Part, Template, Values};
use crate::issue::Issue;
use crate::keys::Keys;
use crate::mime_body::PreEncoded;
use crate::render::{Personal, PreparedIssue};
use anyhow::{anyhow, bail};
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

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
    date: SystemTime,
    keys: &'a Keys,
    list_id: HeaderValue,
    /// `<mailto:…?subject=unsubscribe>` for List-Unsubscribe, when configured.
    unsubscribe_mailto: Option<String>,
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
        let list_id = format!("{} <{}>", cfg.newsletter.name, cfg.newsletter.list_id);
        Ok(MessageFactory {
            cfg,
            issue_id: issue.id.clone(),
            prepared,
            subject,
            from_domain: cfg.newsletter.from.email.domain().to_string(),
            date,
            keys,
            list_id: HeaderValue::new(header_name("List-Id"), list_id),
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
        let nl = &self.cfg.newsletter;
        match (&nl.verp, &self.keys.verp) {
            (Some(template), Some(key)) => template.address(&key.token(&self.issue_id, email)),
            _ => nl.bounce_address.clone(),
        }
    }

    /// The recipient's one-click unsubscribe URL, when a URL and a key are configured.
    pub fn unsubscribe_url(&self, email: &str) -> Option<String> {
        let key = self.keys.unsubscribe.as_ref()?;
        crate::token::unsubscribe_url(self.cfg, key, email)
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

    /// Builds one recipient's message.
    pub fn build(&self, r: Recipient<'_>) -> anyhow::Result<Built> {
        let to_addr: Address = r
            .email
            .parse()
            .map_err(|e| anyhow!("recipient {}: invalid address: {e}", r.email))?;
        let subject = self.header_texts(&r)?;
        let to = Mailbox::new(r.name.filter(|n| !n.is_empty()).map(str::to_string), to_addr.clone());
        let message_id = self.message_id(r.email);
        let unsubscribe_url = self.unsubscribe_url(r.email);
        let personal = Personal {
            name: r.name,
            email: r.email,
            unsubscribe_url: unsubscribe_url.as_deref(),
            attributes: r.attributes,
        };
        let text = self.prepared.text(&personal);
        let html = self.prepared.html(&personal);

        let nl = &self.cfg.newsletter;
        let mut builder = Message::builder()
            .from(nl.from.clone())
            .to(to)
            .raw_header(crate::mime_header::unstructured("Subject", &subject))
            .date(self.date)
            .message_id(Some(message_id.clone()))
            .raw_header(self.list_id.clone());
        if let Some(reply_to) = &nl.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let mut targets = Vec::new();
        if let Some(url) = &unsubscribe_url {
            targets.push(format!("<{url}>"));
        }
        if let Some(mailto) = &self.unsubscribe_mailto {
            targets.push(mailto.clone());
        }
        if !targets.is_empty() {
            builder = builder.raw_header(HeaderValue::new(header_name("List-Unsubscribe"), targets.join(", ")));
        }
        if unsubscribe_url.as_deref().is_some_and(|u| u.starts_with("https://")) {
            builder = builder.raw_header(HeaderValue::new(
                header_name("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
        }
        let envelope = Envelope::new(Some(self.envelope_sender(r.email)), vec![to_addr])
            .map_err(|e| anyhow!("recipient {}: {e}", r.email))?;
        builder = builder.envelope(envelope.clone());

        let boundary = format!("=_nl_{}", &recipient_hash(&message_id, "boundary"));
        let body = MultiPart::alternative()
            .boundary(boundary)
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(self.text_body.body(&text)),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(self.html_body.body(&html)),
            );
        let mut message = builder
            .multipart(body)
            .map_err(|e| anyhow!("recipient {}: cannot build message: {e}", r.email))?;
        if let Some(dkim) = &self.keys.dkim {
            message.sign(dkim);
        }
        let bytes = message.formatted();
        if let Some(problem) = crate::mime_header::overlong_header(&bytes) {
            bail!("recipient {}: {problem}", r.email);
        }
        Ok(Built {
            envelope,
            message_id,
            bytes,
        })
    }
}

fn header_name(name: &'static str) -> HeaderName {
    HeaderName::new_from_ascii_str(name)
}

/// 16 hex digits of SHA-256 over the issue id and the lower-cased address.
pub fn recipient_hash(issue_id: &str, email: &str) -> String {
    let mut h = Sha256::new();
    h.update(issue_id.as_bytes());
    h.update([0u8]);
    h.update(crate::address::key(email).as_bytes());
    let digest = h.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::valid_issue_id;

    #[test]
    fn issue_ids_are_never_paths() {
        for ok in ["2026-w47", "issue-025", "a.b_c", &"x".repeat(100)] {
            assert!(valid_issue_id(ok), "{ok}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "a b", "a:b", "가나", &"x".repeat(101)] {
            assert!(!valid_issue_id(bad), "{bad}");
        }
    }
}
