//! The plain-data reading of one bounce, complaint or auto-reply: what
//! `bounces parse` prints and what `bounces import` records.

use std::fmt;

/// What the newsletter does with an address after this report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// The address does not exist or can never receive: suppress now.
    Hard,
    /// May pass later, or not the address's fault: count it.
    Soft,
    /// The recipient marked the message as spam (feedback loop): suppress now.
    Complaint,
    /// Not a failure: delivered notices, auto-replies, mail that is no bounce.
    Ignore,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Hard => "hard",
            Class::Soft => "soft",
            Class::Complaint => "complaint",
            Class::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message failed, in the vocabulary of sisimai (the best-known open
/// bounce classifier), so readings can be compared with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    // The address itself: hard when permanent.
    UserUnknown,
    HostUnknown,
    HasMoved,
    NotAccept,
    // The mailbox exists but cannot take this message now.
    MailboxFull,
    ExceedLimit,
    MesgTooBig,
    Suspend,
    // The receiving side refused the message or its sender.
    Filtered,
    Blocked,
    BadReputation,
    RequirePtr,
    AuthFailure,
    SpamDetected,
    VirusDetected,
    PolicyViolation,
    Rejected,
    NoRelaying,
    SecurityError,
    FailedStartTls,
    TooManyConn,
    Speeding,
    ContentError,
    NotCompliantRfc,
    SyntaxError,
    // Something broke on the way.
    SystemError,
    SystemFull,
    NetworkError,
    MailerError,
    Expired,
    OnHold,
    Undefined,
    // Not failures.
    Vacation,
    Feedback,
    Delivered,
    NotABounce,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            UserUnknown => "userunknown",
            HostUnknown => "hostunknown",
            HasMoved => "hasmoved",
            NotAccept => "notaccept",
            MailboxFull => "mailboxfull",
            ExceedLimit => "exceedlimit",
            MesgTooBig => "mesgtoobig",
            Suspend => "suspend",
            Filtered => "filtered",
            Blocked => "blocked",
            BadReputation => "badreputation",
            RequirePtr => "requireptr",
            AuthFailure => "authfailure",
            SpamDetected => "spamdetected",
            VirusDetected => "virusdetected",
            PolicyViolation => "policyviolation",
            Rejected => "rejected",
            NoRelaying => "norelaying",
            SecurityError => "securityerror",
            FailedStartTls => "failedstarttls",
            TooManyConn => "toomanyconn",
            Speeding => "speeding",
            ContentError => "contenterror",
            NotCompliantRfc => "notcompliantrfc",
            SyntaxError => "syntaxerror",
            SystemError => "systemerror",
            SystemFull => "systemfull",
            NetworkError => "networkerror",
            MailerError => "mailererror",
            Expired => "expired",
            OnHold => "onhold",
            Undefined => "undefined",
            Vacation => "vacation",
            Feedback => "feedback",
            Delivered => "delivered",
            NotABounce => "not-a-bounce",
        }
    }

    /// Reasons that say the address cannot receive at all. They make a
    /// hard bounce only when the failure is also permanent.
    pub fn is_about_the_address(self) -> bool {
        matches!(
            self,
            Reason::UserUnknown | Reason::HostUnknown | Reason::HasMoved | Reason::NotAccept
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of message that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// RFC 3464 delivery status notification (with a machine-readable part).
    Dsn,
    /// A bounce written as plain text by an MTA that does not send DSNs.
    Text,
    /// RFC 5965 feedback (complaint) report.
    Feedback,
    /// RFC 3834 automatic reply (vacation, out of office).
    AutoReply,
    /// Anything else.
    NotABounce,
}

/// One affected recipient, or the single `ignore` row of a message that is
/// not a bounce (then `recipient` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased address the report is about.
    pub recipient: Option<String>,
    /// The address as it was sent to, when the report says the failure
    /// happened after a rewrite or forward (DSN `Original-Recipient`, Exim's
    /// "generated from").
    pub original_recipient: Option<String>,
    /// What the reporting system did: `failed`, `delayed` (a warning: it
    /// is still trying), `delivered`, `relayed` or `expanded` (RFC 3464
    /// `Action:`; for a text bounce, `delayed` when it says so, else
    /// `failed`). None for complaints, auto-replies and other mail.
    pub action: Option<String>,
    /// RFC 3463 enhanced status code, e.g. `5.1.1`: the one found in the
    /// message, or for a failure whose message has none, the code inferred
    /// from the reason (`5.0.911`, see `pseudo`).
    pub status: Option<String>,
    /// True when `status` was inferred, not read from the message.
    pub status_inferred: bool,
    /// SMTP reply code, e.g. 550.
    pub reply_code: Option<u16>,
    /// The remote server's words (or the MTA's), whitespace-collapsed.
    pub diagnostic: String,
    pub class: Class,
    pub reason: Reason,
    /// ARF `Feedback-Type` (abuse, fraud, opt-out, …) for complaints.
    pub feedback_type: Option<String>,
}

/// What the report says about the message that was returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Original {
    /// The returned message's Message-ID, with its angle brackets.
    pub message_id: Option<String>,
    /// Lower-cased addresses from the returned message's To (or, for
    /// complaints, Original-Rcpt-To).
    pub recipients: Vec<String>,
}

/// The reading of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: Kind,
    /// The Message-ID of the report itself (the bounce, not the returned
    /// message): what makes importing the same report twice count once.
    pub report_id: Option<String>,
    /// At least one entry.
    pub entries: Vec<Entry>,
    pub original: Original,
    /// Problems worth a warning that did not stop the reading (a MIME
    /// structure cut inside its report part, …).
    pub warnings: Vec<String>,
}

impl Report {
    /// The issue an entry is about, from the returned message's Message-ID
    /// when it has our shape (`<issue-id.hash@domain>`) and its hash is the
    /// one we give that issue and this recipient (or the returned To). A
    /// report that hides every recipient is matched on the shape alone.
    pub fn issue_for(&self, entry: &Entry) -> Option<&str> {
        let id = self.original.message_id.as_deref()?;
        let issue = issue_from_message_id(id)?;
        let hash = id.rsplit_once('@')?.0.rsplit_once('.')?.1;
        let mut candidates = entry
            .recipient
            .iter()
            .chain(&entry.original_recipient)
            .chain(&self.original.recipients)
            .peekable();
        if candidates.peek().is_none() {
            return Some(issue);
        }
        candidates
            .any(|r| crate::message::recipient_hash(issue, r) == hash)
            .then_some(issue)
    }
}

/// `<issue-id.0123456789abcdef@example.com>` → `issue-id`. Any other shape → None.
pub fn issue_from_message_id(id: &str) -> Option<&str> {
    let inner = id.trim().strip_prefix('<')?.strip_suffix('>')?;
    let (left, domain) = inner.rsplit_once('@')?;
    if domain.is_empty() {
        return None;
    }
    let (issue, hash) = left.rsplit_once('.')?;
    let is_hash = hash.len() == 16 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    (is_hash && !issue.is_empty() && !issue.starts_with('.') && issue.chars().all(safe)).then_some(issue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_message_ids_give_the_issue() {
        assert_eq!(
            issue_from_message_id("<2026-w47.0123456789abcdef@example.com>"),
            Some("2026-w47")
        );
        assert_eq!(issue_from_message_id("<v1.2.00000000deadbeef@x.org>"), Some("v1.2"));
        assert_eq!(issue_from_message_id(" <a.0123456789abcdef@x> "), Some("a"));
    }

    fn entry(recipient: Option<&str>) -> Entry {
        Entry {
            recipient: recipient.map(str::to_string),
            original_recipient: None,
            action: None,
            status: None,
            status_inferred: false,
            reply_code: None,
            diagnostic: String::new(),
            class: Class::Hard,
            reason: Reason::UserUnknown,
            feedback_type: None,
        }
    }

    fn report(message_id: &str, to: &[&str]) -> Report {
        Report {
            kind: Kind::Dsn,
            report_id: None,
            entries: Vec::new(),
            original: Original {
                message_id: Some(message_id.into()),
                recipients: to.iter().map(|s| s.to_string()).collect(),
            },
            warnings: Vec::new(),
        }
    }

    #[test]
    fn the_hash_must_be_ours_for_the_recipient() {
        let hash = crate::message::recipient_hash("2026-w47", "reader@example.org");
        let id = format!("<2026-w47.{hash}@example.com>");
        let r = report(&id, &[]);
        assert_eq!(r.issue_for(&entry(Some("reader@example.org"))), Some("2026-w47"));
        assert_eq!(r.issue_for(&entry(Some("other@example.org"))), None);
        // The returned To names the reader when the DSN names a forward.
        let r = report(&id, &["reader@example.org"]);
        assert_eq!(
            r.issue_for(&entry(Some("forwarded@elsewhere.example"))),
            Some("2026-w47")
        );
        // Nobody to check against: the shape is all there is.
        let r = report(&id, &[]);
        assert_eq!(r.issue_for(&entry(None)), Some("2026-w47"));
        let r = report("<1373048289.4959893235684211@mf36.sendgrid.net>", &[]);
        assert_eq!(r.issue_for(&entry(Some("kijitora@example.org"))), None);
    }

    #[test]
    fn other_message_ids_do_not() {
        for id in [
            "<E1X58pB-0004bW-2s@marutamachi.example.org>",
            "<a.0123456789ABCDEF@x>",
            "<a.0123456789abcde@x>",
            "<.0123456789abcdef@x>",
            "<a.0123456789abcdef@>",
            "a.0123456789abcdef@x",
            "<a b.0123456789abcdef@x>",
        ] {
            assert_eq!(issue_from_message_id(id), None, "{id}");
        }
    }
}
