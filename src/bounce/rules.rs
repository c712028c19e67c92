//! The classification rules, in one place: from what a failure says (status
//! code, reply code, SMTP stage, words) to a reason and a class.
//!
//! The rule a newsletter lives by: suppress only when the failure says the
//! ADDRESS cannot receive (it does not exist, its domain does not exist or
//! takes no mail, it has moved) and says so permanently, about this
//! recipient. A 5xx from a filter, a policy, a reputation or rate limit or
//! an authentication check blocks the SENDER: it is soft, never a
//! suppression. The same rules read DSNs, text bounces and synchronous
//! RCPT replies ([`classify_reply`]).

use super::model::{Class, Reason};
use super::patterns;
use super::smtp::{self, Command};

/// What is known about one failure.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Enhanced status code (`5.1.1`), if any.
    pub status: Option<&'a str>,
    pub reply_code: Option<u16>,
    /// The SMTP stage that was refused, if the text says.
    pub command: Option<Command>,
    /// DSN `Action:` (failed, delayed, delivered, relayed, expanded).
    pub action: Option<&'a str>,
    /// The diagnostic text: the remote server's words and the MTA's.
    pub text: &'a str,
    /// Other text about the recipient (the human-readable part of a DSN, a
    /// text bounce's preamble), read only when `text` and the status code
    /// say nothing.
    pub context: &'a str,
    /// The text names our sender (address or domain) and not the recipient:
    /// whatever it says is about the sender.
    pub about_sender: bool,
}

/// A reason and what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    pub reason: Reason,
}

/// Classifies a synchronous SMTP reply (a RCPT TO or DATA refusal met while
/// sending) with the same rules as a bounce: `550 5.1.1 user unknown` is
/// hard, `550 5.7.1 blocked by policy` is soft, any 4xx is soft.
pub fn classify_reply(code: u16, status: Option<&str>, text: &str, command: Option<Command>) -> Verdict {
    let status = status
        .filter(|s| smtp::is_status(s))
        .map(str::to_string)
        .or_else(|| smtp::pick_status(None, text, Some(code)));
    classify(&Facts {
        status: status.as_deref(),
        reply_code: Some(code),
        command,
        action: Some(if code >= 500 { "failed" } else { "delayed" }),
        text,
        context: "",
        about_sender: false,
    })
}

/// The reason and class of one failure.
pub fn classify(f: &Facts<'_>) -> Verdict {
    let delivered = matches!(f.action, Some("delivered" | "relayed" | "expanded"));
    if delivered || f.status.is_some_and(|s| s.starts_with("2.")) {
        return Verdict {
            class: Class::Ignore,
            reason: Reason::Delivered,
        };
    }
    let reason = reason(f);
    Verdict {
        class: class_of(reason, f),
        reason,
    }
}

/// Lower-cases, squashes whitespace and hides addresses and URL paths,
/// whose words (`blocked@…`, `…/reason/#spam`) say nothing about the
/// failure. A URL keeps its host (`url(www.spamhaus.org)`), which does.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for f in super::address::find_all(text) {
        out.push_str(&text[last..f.start]);
        out.push_str("addr");
        last = f.end;
    }
    out.push_str(&text[last..]);
    let words: Vec<String> = out
        .split_whitespace()
        .map(|w| url_host(w).unwrap_or_else(|| w.to_lowercase()))
        .collect();
    words.join(" ")
}

/// `https://www.spamhaus.org/query/bl?ip=…` → `url(www.spamhaus.org)`.
fn url_host(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    let at = lower.find("http://").or_else(|| lower.find("https://"))?;
    let rest = &lower[at..];
    let host = rest
        .split("//")
        .nth(1)?
        .split(['/', '?', '#', ')', '>', '\'', '"'])
        .next()?;
    Some(format!("{}url({host})", &lower[..at]))
}

fn reason(f: &Facts<'_>) -> Reason {
    let text = normalise(f.text);
    let context = normalise(f.context);
    let by_status = f.status.and_then(reason_for_status);
    let mut r = patterns::reason_in(&text)
        .or(by_status)
        .or_else(|| patterns::reason_in(&context))
        .unwrap_or_else(|| fallback(f, &text));
    if r == Reason::UserUnknown && !user_unknown_is_credible(f, &text, &context) {
        r = Reason::Filtered;
    }
    if r.is_about_the_address() && (f.about_sender || about_sender_stage(f)) {
        r = Reason::Rejected;
    }
    // A security or policy status (5.7.x) says what the refusal is; generic
    // words beside it ("mailbox unavailable") do not make it the address's.
    if r.is_about_the_address() && f.status.is_some_and(|s| s.get(1..3) == Some(".7")) {
        if let Some(policy) = by_status.filter(|p| !p.is_about_the_address()) {
            r = policy;
        }
    }
    if r == Reason::NetworkError && f.action != Some("delayed") && timed_out(&text) {
        // A relay that gave up after connections kept timing out ran out
        // of time: the message expired in its queue.
        r = Reason::Expired;
    }
    r
}

fn timed_out(text: &str) -> bool {
    patterns::any(text, &["timed out", "timeout"])
}

/// "User unknown" is also what filters say when they refuse a message in
/// a recipient's name (after DATA, or next to a status about the mailbox
/// or the message). Trust it when the recipient's own system looked the
/// address up, at the RCPT stage, or with an address status (`x.1.x`).
fn user_unknown_is_credible(f: &Facts<'_>, text: &str, context: &str) -> bool {
    let directory = patterns::any(text, patterns::DIRECTORY_SAYS_NO_SUCH_USER)
        || patterns::any(context, patterns::DIRECTORY_SAYS_NO_SUCH_USER);
    let address_status = f.status.and_then(|s| s.get(1..)).is_some_and(|s| s.starts_with(".1."));
    let protocol_status = f.status.and_then(|s| s.get(1..)).is_some_and(|s| s.starts_with(".5."));
    directory
        || address_status
        || f.command == Some(Command::Rcpt)
        || (protocol_status && f.command != Some(Command::Data))
}

/// A refusal of MAIL FROM or of the session is about the sender or the
/// sending host, whatever its words: no recipient had been named yet.
fn about_sender_stage(f: &Facts<'_>) -> bool {
    matches!(f.command, Some(Command::Mail | Command::Session))
        || f.status.is_some_and(|s| s.ends_with(".1.7") || s.ends_with(".1.8"))
}

/// No words and no specific status: the action or the reply code.
fn fallback(f: &Facts<'_>, text: &str) -> Reason {
    if f.action == Some("delayed") {
        return Reason::Expired;
    }
    match f.command {
        Some(Command::Mail) => return Reason::Rejected,
        Some(Command::Session) => return Reason::Blocked,
        _ => {}
    }
    if text.is_empty() && f.reply_code.is_none() {
        Reason::Undefined
    } else {
        Reason::OnHold
    }
}

/// The meaning of a specific enhanced status code (RFC 3463 and the IANA
/// registry). Bare classes (`x.0.0`) and codes that only say "other"
/// leave the reason to the words.
pub fn reason_for_status(status: &str) -> Option<Reason> {
    let mut parts = status.splitn(3, '.');
    let (_, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    let detail: u16 = detail.parse().ok()?;
    use Reason::*;
    Some(match (subject, detail) {
        ("1", 1) | ("1", 3) => UserUnknown,
        ("1", 2) => HostUnknown,
        ("1", 4) => Filtered,
        ("1", 6) => HasMoved,
        ("1", 7) | ("1", 8) => Rejected,
        ("1", 9) => SystemError,
        ("1", 10) => NotAccept,
        ("2", 0) | ("2", 1) | ("2", 4) => Filtered,
        ("2", 2) => MailboxFull,
        ("2", 3) => ExceedLimit,
        ("3", 1) => SystemFull,
        ("3", 2) => NotAccept,
        ("3", 4) => MesgTooBig,
        ("3", _) => SystemError,
        ("4", 1) | ("4", 7) => Expired,
        ("4", 3) => SystemError,
        ("4", 4) => HostUnknown,
        ("4", 5) => SystemFull,
        ("4", _) => NetworkError,
        ("5", 0) => return None,
        ("5", 3) => TooManyConn,
        ("5", _) => SyntaxError,
        ("6", _) => ContentError,
        ("7", 1) => Blocked,
        ("7", 13) => Suspend,
        ("7", 17) | ("7", 18) => HasMoved,
        ("7", 20..=24) | ("7", 26) | ("7", 29) => AuthFailure,
        ("7", 25) => RequirePtr,
        ("7", 27) => NotAccept,
        ("7", 28) => SpamDetected,
        ("7", 30) => FailedStartTls,
        ("7", _) => SecurityError,
        _ => return None,
    })
}

/// Hard only for the address reasons, when permanent. Permanence comes
/// from the codes (5xx), or from a DSN that gave up (`Action: failed`)
/// when the codes are only transient ones repeated until the end.
fn class_of(reason: Reason, f: &Facts<'_>) -> Class {
    match reason {
        Reason::Feedback => return Class::Complaint,
        Reason::Vacation | Reason::Delivered | Reason::NotABounce => return Class::Ignore,
        _ => {}
    }
    if !reason.is_about_the_address() {
        return Class::Soft;
    }
    let first = f
        .status
        .and_then(|s| s.bytes().next())
        .or_else(|| f.reply_code.map(|c| b'0' + (c / 100) as u8));
    // A name lookup that failed with a transient code may work tomorrow;
    // a mailbox that a server kept calling unknown until the relay gave up
    // will not.
    let gave_up = f.action == Some("failed") && matches!(reason, Reason::UserUnknown | Reason::HasMoved);
    let permanent = match first {
        Some(b'5') => true,
        Some(_) => gave_up,
        None => f.action != Some("delayed"),
    };
    if permanent {
        Class::Hard
    } else {
        Class::Soft
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> (Class, Reason) {
        let v = classify_reply(code, None, text, Some(Command::Rcpt));
        (v.class, v.reason)
    }

    #[test]
    fn missing_addresses_are_hard() {
        assert_eq!(
            reply(550, "5.1.1 <a@b.example>: Recipient address rejected: User unknown"),
            (Class::Hard, Reason::UserUnknown)
        );
        assert_eq!(reply(550, "5.1.2 Host unknown"), (Class::Hard, Reason::HostUnknown));
        assert_eq!(
            reply(554, "5.1.10 Recipient address has null MX"),
            (Class::Hard, Reason::NotAccept)
        );
    }

    #[test]
    fn blocks_of_the_sender_are_soft() {
        assert_eq!(
            reply(
                550,
                "5.7.1 Service unavailable; client host blocked using zen.spamhaus.org"
            )
            .0,
            Class::Soft
        );
        assert_eq!(
            reply(550, "5.7.26 Unauthenticated email is not accepted (DMARC)").1,
            Reason::AuthFailure
        );
        assert_eq!(reply(554, "5.7.1 Message rejected as spam").0, Class::Soft);
        assert_eq!(reply(550, "5.7.1 Relaying denied").1, Reason::NoRelaying);
        assert_eq!(reply(421, "4.7.0 Too many connections, slow down").0, Class::Soft);
    }

    #[test]
    fn transient_failures_are_soft() {
        assert_eq!(
            reply(450, "4.1.1 <a@b.example>: Recipient address rejected: User unknown").0,
            Class::Soft
        );
        assert_eq!(reply(452, "4.2.2 Mailbox full").1, Reason::MailboxFull);
    }

    #[test]
    fn a_policy_status_outweighs_generic_mailbox_words() {
        let v = classify_reply(
            550,
            None,
            "5.7.1 Requested action not taken: mailbox unavailable",
            Some(Command::Rcpt),
        );
        assert_eq!((v.class, v.reason), (Class::Soft, Reason::Blocked));
        let v = classify_reply(
            550,
            None,
            "5.1.1 Requested action not taken: mailbox unavailable",
            Some(Command::Rcpt),
        );
        assert_eq!(v.class, Class::Hard);
    }

    #[test]
    fn a_sender_stage_is_never_hard() {
        let v = classify_reply(550, None, "5.1.1 No such user", Some(Command::Mail));
        assert_eq!(v.class, Class::Soft);
    }

    #[test]
    fn user_unknown_after_data_is_a_filter() {
        let f = Facts {
            status: Some("5.2.1"),
            reply_code: Some(550),
            command: Some(Command::Data),
            action: Some("failed"),
            text: "550 5.2.1 <a@b.example>... User Unknown",
            context: "",
            about_sender: false,
        };
        assert_eq!(
            classify(&f),
            Verdict {
                class: Class::Soft,
                reason: Reason::Filtered
            }
        );
    }

    #[test]
    fn addresses_in_the_text_say_nothing() {
        let v = classify_reply(550, Some("5.1.1"), "<spam-blocked@example.org>: user unknown", None);
        assert_eq!(v.reason, Reason::UserUnknown);
    }

    #[test]
    fn delivered_is_ignored() {
        let f = Facts {
            status: Some("2.1.5"),
            action: Some("delivered"),
            ..Default::default()
        };
        assert_eq!(classify(&f).class, Class::Ignore);
    }
}
