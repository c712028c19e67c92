//! The message as lettre's builder makes it: how every message was built
//! before they were assembled in one buffer (`assemble`). Kept as the
//! reference the tests compare the assembled bytes with.

use super::{boundary, Built, MessageFactory, Recipient};
use crate::render::Personal;
use anyhow::{anyhow, bail};
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

impl MessageFactory<'_> {
    /// One recipient's message through lettre's `MessageBuilder`, `MultiPart`
    /// and `formatted()`, signed (at the factory's date) when a DKIM key is configured.
    pub(crate) fn build_with_lettre(&self, r: Recipient<'_>) -> anyhow::Result<Built> {
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
            .date(self.statics.date)
            .message_id(Some(message_id.clone()))
            .raw_header(HeaderValue::new(
                header_name("List-Id"),
                format!("{} <{}>", nl.name, nl.list_id),
            ));
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

        let body = MultiPart::alternative()
            .boundary(boundary(&message_id))
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
            dkim.sign_message(&mut message, self.statics.date);
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
