//! The double opt-in confirmation message, and sending it.
//!
//! [`build`] is pure (keys and clock passed in): the same sender, Reply-To,
//! Date, Message-ID style and DKIM key as an issue, `multipart/alternative`
//! text then HTML, in the newsletter's language. No List-Unsubscribe: the
//! reader is not on the list yet. `Auto-Submitted: auto-generated` keeps
//! vacation responders quiet.
//!
//! [`Mailer`] hands each queued message to the configured transport through
//! the same seam `send` uses ("envelope + bytes → sink": `transport::Sink`,
//! `SmtpSink` from `[smtp]`), one connection per message, on its own thread.

use super::store::Store;
use super::texts::{fill, Texts};
use crate::config::Config;
use crate::dkim::DkimKey;
use crate::message::Built;
use crate::output;
use crate::render::escape_html;
use crate::transport::smtp::{SmtpSettings, SmtpSink};
use crate::transport::Sink;
use anyhow::anyhow;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// One confirmation to send.
#[derive(Debug, Clone)]
pub struct Job {
    pub address: String,
    pub name: Option<String>,
    /// The secret in the link; only its hash is stored.
    pub token: String,
    pub token_hash: Vec<u8>,
}

/// Builds the confirmation message for `job` with the link `url`.
pub fn build(
    cfg: &Config,
    t: &Texts,
    dkim: Option<&DkimKey>,
    job: &Job,
    url: &str,
    date: SystemTime,
) -> anyhow::Result<Built> {
    let nl = &cfg.newsletter;
    let to_addr: Address = job
        .address
        .parse()
        .map_err(|e| anyhow!("{}: invalid address: {e}", job.address))?;
    let to = Mailbox::new(job.name.clone(), to_addr.clone());
    let hash: String = Sha256::digest(job.token.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let message_id = format!("<confirm.{hash}@{}>", nl.from.email.domain());
    let (text, html) = bodies(cfg, t, job, url);
    let mut builder = Message::builder()
        .from(nl.from.clone())
        .to(to)
        .subject(fill(t.mail_subject, &nl.name, "", ""))
        .date(date)
        .message_id(Some(message_id.clone()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    if let Some(reply_to) = &nl.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let envelope = Envelope::new(Some(nl.bounce_address.clone()), vec![to_addr]).map_err(|e| anyhow!("{e}"))?;
    let mut message = builder
        .envelope(envelope.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|e| anyhow!("cannot build the confirmation message: {e}"))?;
    if let Some(dkim) = dkim {
        dkim.sign_message(&mut message, date);
    }
    Ok(Built {
        envelope,
        message_id,
        bytes: message.formatted(),
    })
}

/// The text and HTML bodies: greeting, what happened, the link, what to do
/// if it was not you, the newsletter's name and postal address.
fn bodies(cfg: &Config, t: &Texts, job: &Job, url: &str) -> (String, String) {
    let nl = &cfg.newsletter;
    let person = job.name.as_deref().unwrap_or("");
    let greeting = if person.is_empty() {
        t.mail_greeting
    } else {
        t.mail_greeting_named
    };
    let [greeting, body, ignore, button] =
        [greeting, t.mail_body, t.mail_ignore, t.mail_button].map(|s| fill(s, &nl.name, &job.address, person));
    let footer = [nl.name.as_str(), nl.postal_address.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>();
    let text = format!(
        "{greeting}\n\n{body}\n\n{url}\n\n{ignore}\n\n-- \n{}\n",
        footer.join("\n")
    );
    let e = escape_html;
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{subject}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5; color: #111827\">\n\
         <p>{greeting}</p>\n<p>{body}</p>\n\
         <p><a href=\"{url}\" style=\"display: inline-block; padding: 10px 18px; background: #1d4ed8; color: #ffffff; text-decoration: none; border-radius: 4px\">{button}</a></p>\n\
         <p style=\"font-size: 13px; color: #4b5563\">{url}</p>\n<p>{ignore}</p>\n\
         <p style=\"font-size: 13px; color: #4b5563\">{footer}</p>\n</body></html>\n",
        lang = t.lang,
        subject = e(&fill(t.mail_subject, &nl.name, "", "")),
        greeting = e(&greeting),
        body = e(&body),
        url = e(url),
        button = e(&button),
        ignore = e(&ignore),
        footer = footer.iter().map(|s| e(s)).collect::<Vec<_>>().join("<br>"),
    );
    (text, html)
}

/// The queue of confirmation messages and the task that sends them.
#[derive(Clone)]
pub struct Mailer {
    tx: mpsc::Sender<Job>,
}

/// Confirmations waiting at most; beyond that a sign-up answers 503.
const QUEUE: usize = 1000;

impl Mailer {
    /// Resolves the SMTP settings now (a wrong password command stops `serve`
    /// at start), then sends in the background through an [`SmtpSink`].
    pub fn start(
        cfg: Arc<Config>,
        t: &'static Texts,
        dkim: Option<DkimKey>,
        store: Arc<Store>,
    ) -> anyhow::Result<Mailer> {
        let sink = SmtpSink::new(SmtpSettings::from_config(&cfg.smtp)?);
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        // The sink's futures are not `Send`: they run on this thread's own runtime.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new()
            .name("confirmations".into())
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    let sent = rt.block_on(send_one(&sink, &cfg, t, dkim.as_ref(), &job, SystemTime::now()));
                    let address = super::log_safe(&job.address);
                    match sent {
                        Ok(()) => output::log(&format!("confirmation sent to {address}")),
                        Err(e) => {
                            // Forget the token first: once the line is logged, a retry works.
                            let (email, hash) = (job.address.clone(), job.token_hash.clone());
                            let forget = store.write(move |c| crate::state::signups::send_failed(c, &email, &hash));
                            if let Err(e) = rt.block_on(forget) {
                                output::warn(&super::log_safe(&e.0));
                            }
                            output::warn(&format!("confirmation to {address} not sent: {}", super::log_safe(&e)));
                        }
                    }
                }
            })?;
        Ok(Mailer { tx })
    }

    /// Queues a confirmation; false when the queue is full.
    pub fn queue(&self, job: Job) -> bool {
        self.tx.try_send(job).is_ok()
    }
}

/// Builds `job`'s message and hands it to `sink` on a connection of its own.
async fn send_one<S: Sink>(
    sink: &S,
    cfg: &Config,
    t: &Texts,
    dkim: Option<&DkimKey>,
    job: &Job,
    now: SystemTime,
) -> Result<(), String> {
    let link = cfg
        .serve
        .confirm_url
        .as_deref()
        .unwrap_or_default()
        .replace("{token}", &job.token);
    let built = build(cfg, t, dkim, job, &link, now).map_err(|e| format!("{e:#}"))?;
    let mut conn = sink.connect().await.map_err(|e| e.to_string())?;
    let message = crate::transport::Outgoing {
        envelope: &built.envelope,
        bytes: &built.bytes,
    };
    let sent = sink.send(&mut conn, message, None, &|| true).await;
    sink.quit(conn).await;
    sent.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Language;

    #[test]
    fn confirmations_go_through_the_sink_seam() {
        use crate::transport::smtp::{Cause, SmtpError, Stage};
        use crate::transport::stub::StubSink;
        let text = "[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\n[serve]\nconfirm_url = \"https://x.example/c?token={token}\"\n";
        let cfg = crate::config::parse(std::path::Path::new("n.toml"), text).unwrap();
        let t = super::super::texts::for_language(Language::En);
        let job = Job {
            address: "ann@example.org".into(),
            name: None,
            token: "tok".into(),
            token_hash: vec![],
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let sink = StubSink::new();
        rt.block_on(send_one(&sink, &cfg, t, None, &job, SystemTime::UNIX_EPOCH))
            .unwrap();
        assert_eq!(
            (sink.delivered(), sink.connections()),
            (vec!["ann@example.org".to_string()], 1)
        );
        let refused = SmtpError::new(
            Stage::Rcpt,
            Cause::Reply {
                code: 550,
                enhanced: Some("5.1.1".into()),
                text: "unknown".into(),
            },
        );
        let sink = StubSink::new().replies("ann@example.org", vec![Err(refused)]);
        let err = rt
            .block_on(send_one(&sink, &cfg, t, None, &job, SystemTime::UNIX_EPOCH))
            .unwrap_err();
        assert!(err.contains("550"), "{err}");
    }

    #[test]
    fn the_message_is_personal_escaped_and_in_the_language() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[newsletter]\nname = \"Field <Notes>\"\nfrom = \"Field Notes <weekly@example.com>\"\nreply_to = \"editor@example.com\"\nlanguage = \"ko\"\npostal_address = \"1 Example Street\"\n";
        let cfg = crate::config::parse(&dir.path().join("n.toml"), text).unwrap();
        let job = Job {
            address: "ann@example.org".into(),
            name: Some("김민지".into()),
            token: "tok".into(),
            token_hash: vec![],
        };
        let t = super::super::texts::for_language(Language::Ko);
        let url = "https://example.com/confirm?token=tok&x=<y>";
        let built = build(&cfg, t, None, &job, url, SystemTime::UNIX_EPOCH).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&built.bytes).unwrap();
        assert_eq!(msg.subject(), Some("Field <Notes> 구독을 확인해 주세요"));
        assert_eq!(msg.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
        assert!(msg.header_raw("List-Unsubscribe").is_none());
        assert_eq!(built.envelope.to()[0].to_string(), "ann@example.org");
        let body = msg.body_text(0).unwrap();
        assert!(body.starts_with("김민지님, 안녕하세요."), "{body}");
        assert!(body.contains(url), "{body}");
        let html = msg.body_html(0).unwrap();
        assert!(
            html.contains("https://example.com/confirm?token=tok&amp;x=&lt;y&gt;"),
            "{html}"
        );
        assert!(html.contains("<html lang=\"ko\">"), "{html}");
        assert!(built.message_id.starts_with("<confirm.") && built.message_id.ends_with("@example.com>"));
    }
}
