//! Telling what a message without a machine-readable report is: an RFC 3834
//! automatic reply, a bounce written as text, or neither.

use super::address;
use super::mime::Mail;

/// How sure the headers are that a message is an automatic reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReply {
    /// `Auto-Submitted: auto-replied`, `X-Autoreply`, a vacation header.
    Headers,
    /// Only the subject says so ("Out of office", "Automatic reply: …").
    Subject,
    No,
}

#[rustfmt::skip]
const REPLY_SUBJECTS: &[&str] = &[
    "auto:", "auto reply", "auto-reply", "autoreply", "auto response", "auto-response", "autoresponse",
    "automatic reply", "automatic response", "automatische antwort", "réponse automatique", "reponse automatique",
    "risposta automatica", "respuesta automática", "respuesta automatica", "out of office", "out of the office",
    "away from", "on vacation", "vacation", "abwesenheit", "absence", "away until", "自動応答", "自動返信", "不在",
];

/// Is this an automatic reply (RFC 3834), and how sure is that?
pub fn auto_reply(mail: &Mail) -> AutoReply {
    let auto_submitted = mail.header("auto-submitted").unwrap_or("").to_ascii_lowercase();
    let precedence = mail.header("precedence").unwrap_or("").to_ascii_lowercase();
    let flagged = auto_submitted.starts_with("auto-replied")
        || mail.header("x-autoreply").is_some()
        || mail.header("x-autorespond").is_some()
        || mail.header("x-autoresponder").is_some()
        || precedence.contains("auto_reply")
        || mail
            .header("x-apple-action")
            .is_some_and(|v| v.eq_ignore_ascii_case("vacation"))
        || mail.headers.iter().any(|(n, _)| n == "x-ms-exchange-inbox-rules-loop") && subject_says_reply(&mail.subject);
    if flagged {
        AutoReply::Headers
    } else if subject_says_reply(&mail.subject) {
        AutoReply::Subject
    } else {
        AutoReply::No
    }
}

fn subject_says_reply(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    REPLY_SUBJECTS
        .iter()
        .any(|p| s.starts_with(p) || (p.len() > 8 && s.contains(p)))
}

#[rustfmt::skip]
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver", "undelivered", "non-deliver", "nondeliver", "not delivered", "delivery fail",
    "delivery status notification", "delivery notification", "failure notice", "failed delivery",
    "failure delivery", "delivery failure", "returned mail", "mail delivery failed", "returning message",
    "mail system error", "message delivery has failed", "delivery problem", "could not be delivered",
    "delivery has failed", "mail failure", "rejected:", "warning: message", "delayed mail", "delivery delayed",
    "delivery report", "mail delivery", "errors from", "error sending your", "could not deliver",
];

#[rustfmt::skip]
const BOUNCE_PHRASES: &[&str] = &[
    "could not be delivered", "couldn't be delivered", "was not delivered", "wasn't delivered", "undeliverable",
    "delivery has failed", "delivery failed", "delivery to the following recipient", "not able to deliver",
    "wasn't able to deliver", "unable to deliver", "failed permanently", "permanent error",
    "following address(es) failed", "following addresses had", "did not reach", "could not deliver",
    "error delivering", "rejected by the server", "has not yet been delivered", "not be delivered",
    "delivery status notification", "transcript of session", "message delivery has failed",
    "was automatically rejected", "failure reasons", "trouble delivering", "rejected recipient", "failed recipient",
];

/// How sure the sender, headers, subject and words are that this is a bounce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounce {
    /// An `X-Failed-Recipients` header, or the mail system writing about a
    /// failure: stronger than an `Auto-Submitted: auto-replied` (Exim sets
    /// it on its bounces).
    Sure,
    /// Only the words say so. A bounce mailbox gets few other messages, and
    /// a reading only acts on addresses we sent to.
    Words,
    No,
}

pub fn bounce(mail: &Mail, report: &str) -> Bounce {
    let from = mail.header("from").unwrap_or("").to_ascii_lowercase();
    let from_system = address::first(&from).is_some_and(|a| address::is_system_address(&a))
        || matches!(from.trim(), "" | "<>")
        || from.contains("mail delivery")
        || from.contains("mailer-daemon");
    let subject = mail.subject.to_lowercase();
    let subject_says = BOUNCE_SUBJECTS.iter().any(|p| subject.contains(p));
    let lower = report.to_lowercase();
    let body_says = BOUNCE_PHRASES.iter().any(|p| lower.contains(p));
    if mail.header("x-failed-recipients").is_some() || (from_system && (subject_says || body_says)) {
        Bounce::Sure
    } else if body_says {
        Bounce::Words
    } else {
        Bounce::No
    }
}
