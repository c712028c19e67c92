//! RFC 5965 feedback reports (complaints) and RFC 3834 automatic replies:
//! the two kinds of returned mail that are not delivery failures.

use super::address;
use super::dsn;
use super::mime::Mail;
use super::model::{Class, Entry, Original, Reason};

/// Feedback types that are not a recipient's complaint: RFC 6591
/// authentication-failure reports are about the sender's SPF/DKIM, `not-spam`
/// is the opposite of a complaint, `virus` comes from a scanner.
const NOT_COMPLAINTS: &[&str] = &["auth-failure", "not-spam", "virus"];

/// One entry per complaining recipient (`Original-Rcpt-To`, else the
/// returned message's To); one without a recipient when the report hides
/// it (then the returned Message-ID is what identifies it).
pub fn entries(report: &str, original: &Original) -> Vec<Entry> {
    let fields = dsn::fields(report);
    let value = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_string())
    };
    // The type is shown and stored: keep it to the registry's alphabet.
    let feedback_type = value("feedback-type")
        .map(|t| {
            t.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(32)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "abuse".into());
    let mut recipients: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "original-rcpt-to")
        .filter_map(|(_, v)| address::first(v))
        .collect();
    if recipients.is_empty() {
        recipients = original.recipients.clone();
    }
    let class = if NOT_COMPLAINTS.contains(&feedback_type.as_str()) {
        Class::Ignore
    } else {
        Class::Complaint
    };
    let diagnostic = [value("user-agent"), value("reported-domain"), value("source-ip")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let row = |recipient: Option<String>| Entry {
        recipient,
        original_recipient: None,
        action: None,
        status: None,
        status_inferred: false,
        reply_code: None,
        diagnostic: format!("Feedback-Type: {feedback_type} {diagnostic}")
            .trim()
            .to_string(),
        class,
        reason: Reason::Feedback,
        feedback_type: Some(feedback_type.clone()),
    };
    if recipients.is_empty() {
        return vec![row(None)];
    }
    recipients.into_iter().map(Some).map(row).collect()
}

/// The single `ignore` entry of an automatic reply, about its author.
pub fn vacation(mail: &Mail) -> Entry {
    Entry {
        recipient: mail.header("from").and_then(address::first),
        original_recipient: None,
        action: None,
        status: None,
        status_inferred: false,
        reply_code: None,
        diagnostic: mail.subject.chars().take(200).collect(),
        class: Class::Ignore,
        reason: Reason::Vacation,
        feedback_type: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complaint_per_original_recipient() {
        let report =
            "Feedback-Type: abuse\nUser-Agent: SomeISP/1.0\nVersion: 1\nOriginal-Rcpt-To: <Reader@Example.net>\n";
        let e = entries(report, &Original::default());
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].recipient.as_deref(), Some("reader@example.net"));
        assert_eq!(e[0].class, Class::Complaint);
        assert_eq!(e[0].feedback_type.as_deref(), Some("abuse"));
    }

    #[test]
    fn redacted_reports_fall_back_to_the_returned_to() {
        let original = Original {
            message_id: None,
            recipients: vec!["r@example.org".into()],
        };
        let e = entries("Feedback-Type: opt-out\n", &original);
        assert_eq!(e[0].recipient.as_deref(), Some("r@example.org"));
        assert_eq!(e[0].class, Class::Complaint);
    }

    #[test]
    fn the_feedback_type_cannot_smuggle_text() {
        let e = entries("Feedback-Type: abuse\x1b[31m; rm -rf\n", &Original::default());
        assert_eq!(e[0].feedback_type.as_deref(), Some("abuse31mrm-rf"));
    }

    #[test]
    fn authentication_failure_reports_are_not_complaints() {
        let e = entries(
            "Feedback-Type: auth-failure\nAuth-Failure: dkim\n",
            &Original::default(),
        );
        assert_eq!((e[0].class, e[0].recipient.clone()), (Class::Ignore, None));
    }
}
