//! The message as lettre's builder makes it: how every message was built
//! before they were assembled in one buffer (`assemble`). Kept as the
//! reference the tests compare the assembled bytes with.

use super::{boundary, one_click, personal, Built, MessageFactory, Parts, Recipient};
use anyhow::{anyhow, bail};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{MultiPart, SinglePart};
use lettre::Message;

impl MessageFactory<'_> {
    /// One recipient's message through lettre's `MessageBuilder`, `MultiPart`
    /// and `formatted()`, signed (at the factory's date) when a DKIM key is configured.
    pub(crate) fn build_with_lettre(&self, r: Recipient<'_>) -> anyhow::Result<Built> {
        let Parts {
            to,
            subject,
            message_id,
            unsubscribe_url,
            envelope,
        } = self.parts(r)?;
        let personal = personal(r, unsubscribe_url.as_deref());
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
        if let Some(targets) = self.list_unsubscribe(unsubscribe_url.as_deref()) {
            builder = builder.raw_header(HeaderValue::new(header_name("List-Unsubscribe"), targets));
        }
        if one_click(unsubscribe_url.as_deref()) {
            builder = builder.raw_header(HeaderValue::new(
                header_name("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
        }
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
