//! The words mail servers use for each reason, in the order they are tried.
//! Text is matched lower-cased, whitespace squashed, with addresses written
//! as `addr` and URLs as `url` (so `blocked@example.com` says nothing).
//! A `*` in a phrase stands for any text between its two sides.

use super::model::Reason;

/// (reason, phrases). Order matters: the first reason with a matching phrase
/// wins, so the ones that are about the sender or the message come before
/// the ones that are about the address, and the vaguest come last.
#[rustfmt::skip]
pub const BY_TEXT: &[(Reason, &[&str])] = &[
    (Reason::MailboxFull, &[
        "mailbox full", "mailbox is full", "mailbox is over", "mailbox has exceeded", "mailbox size limit",
        "mailbox exceeded", "messages in recipient's mailbox exceeded", "mail box full", "mailfolder is full",
        "account is full", "inbox is full", "user's mailbox is full", "over quota", "overquota", "over the quota",
        "quota exceeded", "quota exceed", "exceeded quota", "exceeds quota", "exceed quota", "exceeded its quota",
        "exceeded the quota", "exceeded storage", "out of storage", "storage quota", "disk quota",
        "not enough disk space", "insufficient disk space", "mailbox * full", "too much mail", "would exceed",
        "message would exceed",
    ]),
    (Reason::SystemFull, &[
        "insufficient system storage", "mail system full", "system is full", "disk full", "out of disk space",
    ]),
    (Reason::MesgTooBig, &[
        "message too big", "message too large", "message is too big", "message is too large",
        "message size exceeds", "message exceeds the maximum", "exceeds the maximum message size",
        "size limit exceeded", "message size * exceeds", "too big for system", "mail size", "message too large for",
    ]),
    (Reason::ExceedLimit, &[
        "length exceeds administrative limit", "exceeds administrative limit", "message length exceeds",
    ]),
    (Reason::Suspend, &[
        "account disabled", "account is disabled", "account has been disabled", "disabled recipient",
        "account suspended", "account is suspended", "account has been suspended", "has been suspended",
        "mailbox disabled", "mailbox is disabled", "mailbox has been disabled", "account is locked",
        "account has been locked", "account locked", "deactivated", "inactive account", "account inactive",
        "account is inactive", "mailbox is inactive", "account expired", "account has expired",
        "user(s) account is disabled", "temporarily disabled", "is not active", "account * disabled",
        "mailbox * disabled", "mailbox inactive", "account * inactive",
    ]),
    (Reason::HasMoved, &[
        "has been replaced by", "no longer on server",
    ]),
    (Reason::VirusDetected, &[
        "virus", "malware", "infected", "trojan",
    ]),
    (Reason::AuthFailure, &[
        "dmarc", "spf", "dkim", "sender policy framework", "domainkeys", "sender authentication",
        "authentication check", "not authenticated", "unauthenticated", "arc validation",
    ]),
    (Reason::RequirePtr, &[
        "reverse dns", "reverse-dns", "reverse lookup", "rdns", "ptr record", "no ptr", "ptr lookup",
        "cannot find your hostname", "cannot resolve your address", "cannot find your reverse", "reverse hostname",
        "reverse name", "no reverse",
    ]),
    (Reason::NoRelaying, &[
        "relay access denied", "relaying denied", "relay denied", "relay not permitted", "not permitted to relay",
        "unable to relay", "relaying not allowed", "relay not allowed", "we do not relay", "insecure mail relay",
        "relaying mail to", "not allowed to relay", "no relaying", "relay prohibited",
    ]),
    (Reason::BadReputation, &[
        "reputation", "unexpected volume", "user complaints", "too many complaints", "sender score", "senderscore",
    ]),
    // Links in the message on a URI blocklist: about the content, not the sending host.
    (Reason::SpamDetected, &[
        "blacklisted url", "blacklisted link", "blocklisted url", "blocklisted link", "uribl", "surbl",
    ]),
    (Reason::Blocked, &[
        "invalid ip", "blocked", "blacklist", "black list", "blocklist", "block list", "denylist", "deny list", "spamhaus",
        "spamcop", "barracuda", "dnsbl", "rbl", "sorbs", "banned", "listed at", "listed on", "listed by",
        "is listed", "client host rejected", "your ip", "sending ip", "sender ip", "your network", "your server",
        "your mail server", "access denied", "not allowed to send", "open relay", "dynamic ip", "dial-up", "dialup",
        "residential", "connection refused by", "refused to talk", "service permits", "unverifyable sending ip",
        "please use the smtp server", "use your provider", "is not allowed to send", "relay quota",
        "messages from * weren't sent",
    ]),
    (Reason::SpamDetected, &[
        "spam", "unsolicited", "junk mail", "bulk mail", "content filter", "suspicious", "phishing", "scam",
        "message content rejected", "rejected by the content",
    ]),
    (Reason::FailedStartTls, &[
        "starttls", "tls required", "tls is required", "requires tls", "does not support tls",
        "encryption required", "must issue a starttls", "tls negotiation",
    ]),
    (Reason::TooManyConn, &[
        "too many connections", "too many concurrent", "too many sessions", "connection limit",
        "too many recipients",
    ]),
    (Reason::Speeding, &[
        "too many messages", "rate limit", "ratelimit", "rate-limit", "rate exceeded", "sending rate", "too fast",
        "too quickly", "throttl", "exceeded the rate", "slow down", "try again later", "temporarily deferred",
        "sending limit", "daily limit",
    ]),
    (Reason::Rejected, &[
        "sender address rejected", "sender rejected", "sender denied", "sender not allowed", "sender verify failed",
        "sender verification", "unroutable sender", "unrouteable sender", "sender domain", "domain of sender",
        "sender address", "envelope sender", "envelope-from", "your address", "from address",
        "redundant", "send e-mail to yourself", "invalid sender", "bad sender",
        // A mailing list that does not take posts from this sender (Google
        // Groups writes in the reader's language; its help link does not change).
        "permission to post", "url(groups.google.com)",
    ]),
    (Reason::PolicyViolation, &[
        "policy", "prohibited", "not permitted", "violat", "header error", "administrative prohibition",
    ]),
    (Reason::ContentError, &[
        "media error", "content error", "mime", "8-bit", "8bit", "malformed message", "invalid message",
        "invalid header", "malformed header", "header syntax", "header is too long", "headers too long",
    ]),
    (Reason::SyntaxError, &[
        "syntax error", "malformed address", "command not recognized", "unrecognized command", "bad sequence",
    ]),
    (Reason::NotAccept, &[
        "does not accept mail", "not accepting mail", "accepts no mail", "null mx", "nullmx", "no smtp service",
        "no mx record", "no mx found", "mail receiving disabled", "does not receive mail",
        "not configured to accept",
    ]),
    (Reason::HostUnknown, &[
        "host unknown", "unknown host", "host not found", "domain not found", "no such domain",
        "domain does not exist", "domain doesn't exist", "domain is not reachable", "domain must exist",
        "unknown domain", "unrouteable address", "unroutable address", "unrouteable domain",
        "host or domain name not found", "name or service not known", "couldn't find a mail exchanger",
        "could not find a mail exchanger", "no mail exchanger", "mx not found", "domain name not found", "nxdomain",
        "domain * does not exist", "find the recipient domain", "nonexistent domain", "non-existent domain",
        "couldn't find any host", "could not find any host",
        "name server: .: host not found", "unknown mail domain", "mail domain mentioned",
    ]),
    (Reason::UserUnknown, &[
        "user unknown", "unknown user", "no such user", "no such recipient", "no such mailbox", "no such person",
        "no such account", "no such address", "user not found", "user does not exist", "user doesn't exist",
        "user * does not exist", "user * not found", "user * unknown", "user not known", "user not exist",
        "unknown recipient", "recipient unknown", "recipient not found", "recipient does not exist",
        "recipient * does not exist", "recipient * not found", "recipient address rejected.", "invalid recipient",
        "not a valid recipient", "mailbox not found", "mailbox does not exist", "mailbox * does not exist",
        "mailbox not available", "mailbox unknown", "unknown mailbox", "invalid mailbox", "no mailbox",
        "mailbox is unavailable", "not a valid mailbox", "address unknown", "unknown address", "address not found",
        "address does not exist", "address doesn't exist", "address * does not exist", "invalid address",
        "bad address", "address invalid", "address not present", "account * does not exist",
        "account does not exist", "account doesn't exist", "no account", "doesn't have a * account",
        "address couldn't be found", "address could not be found", "mailbox unavailable",
        "does not have an account", "recipnotfound", "recipient name is not recognized", "not listed in",
        "is not a known user", "not a known user", "unknown or illegal", "unknown local part", "unknown local-part",
        "no one at this address", "illegal alias", "does not exist here", "nessun utente", "no existe",
        "utilisateur inconnu", "unbekannt", "existiert nicht", "destinatario inesistente",
        "inactive email address", "no longer accepts mail",
    ]),
    (Reason::Filtered, &[
        "filtered", "rejected by recipient", "recipient rejected", "refused by recipient",
    ]),
    (Reason::Expired, &[
        "retry timeout exceeded", "retry time", "delivery time expired", "message expired", "expired",
        "in the queue too long", "too long in queue", "could not deliver for the last",
        "has been delayed", "delivery attempts will continue", "not yet been delivered", "will be retried",
        "after multiple retries", "delivery failed * attempts", "queue time", "maximum time",
        "could not be delivered within",
    ]),
    (Reason::NetworkError, &[
        "connection refused", "connection reset", "connection timed out", "timed out", "timeout",
        "no route to host", "network is unreachable", "unable to connect", "could not connect", "couldn't connect",
        "lost connection", "connection lost", "connection closed", "broken pipe", "mail loop",
        "loops back to myself", "routing loop", "too many hops", "hop count", "dns error", "dns failure",
        "name resolution", "temporary lookup failure", "lookup failure", "name service error", "name server",
        "servfail",
    ]),
    (Reason::SystemError, &[
        "system error", "internal error", "server error", "local error", "ldap", "write error", "queue file",
        "resources temporarily unavailable", "service unavailable", "temporarily unavailable",
        "system not accepting", "not available", "remote protocol error", "protocol error", "configuration error",
        "misconfigured",
    ]),
    (Reason::MailerError, &[
        "mailer error", "unknown mailer", "command died", "exit code", "pipe to", "procmail", "child status",
    ]),
];

/// User-unknown words that come from the recipient's own mail system
/// looking the address up in its directory: credible at any SMTP stage.
/// Other user-unknown words are also what filters say when they refuse a
/// message, so they count only at RCPT or with an `x.1.x` status.
#[rustfmt::skip]
pub const DIRECTORY_SAYS_NO_SUCH_USER: &[&str] = &[
    "recipient name is not recognized", "not listed in", "recipnotfound",
    "account that you tried to reach does not exist", "doesn't have a * account", "address couldn't be found",
    "address could not be found", "no mailbox here by that name",
];

/// The most text a `*` in a phrase may stand for, in bytes: the two sides
/// must belong to one statement ("user kijitora does not exist"), not to two
/// sentences of a report.
const MAX_GAP: usize = 48;

/// Does `text` (already normalised) contain `phrase`? `*` in the phrase
/// matches up to [`MAX_GAP`] bytes of any text, in order.
pub fn contains(text: &str, phrase: &str) -> bool {
    let mut pieces = phrase.split('*').map(str::trim);
    let first = pieces.next().unwrap_or("");
    let rest: Vec<&str> = pieces.collect();
    text.match_indices(first).any(|(at, _)| {
        let mut pos = at + first.len();
        rest.iter().all(|piece| {
            let window_end = (pos + MAX_GAP + piece.len()).min(text.len());
            let window = text.get(pos..window_end).or_else(|| text.get(pos..)).unwrap_or("");
            match window.find(piece) {
                Some(found) => {
                    pos += found + piece.len();
                    true
                }
                None => false,
            }
        })
    })
}

/// The first reason whose phrases appear in `text`.
pub fn reason_in(text: &str) -> Option<Reason> {
    BY_TEXT
        .iter()
        .find(|(_, phrases)| phrases.iter().any(|p| contains_word(text, p)))
        .map(|(r, _)| *r)
}

/// Does any of `phrases` appear in `text`?
pub fn any(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| contains_word(text, p))
}

/// Like [`contains`], but short single words (`spf`, `rbl`, `mime`) must
/// stand as a word and not inside a host name, so `rblocked`, `mimecast`
/// or `spf.example.net` do not count.
fn contains_word(text: &str, phrase: &str) -> bool {
    if phrase.len() > 4 || phrase.contains(['*', ' ']) {
        return contains(text, phrase);
    }
    let joins = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '/');
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + phrase.len()..].chars();
        let next = after.next();
        let dotted_on = next == Some('.') && after.next().is_some_and(char::is_alphanumeric);
        !before.is_some_and(|c| joins(c) || c == '.') && !next.is_some_and(joins) && !dotted_on
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_keep_order() {
        assert!(contains("user kijitora does not exist", "user * does not exist"));
        assert!(!contains("does not exist user", "user * does not exist"));
        let far = format!("recipients. {} mx.example.com does not exist", "x".repeat(60));
        assert!(!contains(&far, "recipient * does not exist"));
    }

    #[test]
    fn short_words_stand_alone() {
        assert_eq!(reason_in("550 5.7.1 spf check failed"), Some(Reason::AuthFailure));
        assert_ne!(reason_in("mimecast said no such user"), Some(Reason::ContentError));
        assert_eq!(
            reason_in("550 user unknown [spf.example.net]"),
            Some(Reason::UserUnknown)
        );
        assert_eq!(reason_in("rejected: failed spf."), Some(Reason::AuthFailure));
    }

    #[test]
    fn sender_problems_come_before_address_problems() {
        assert_eq!(
            reason_in("550 user unknown (blocked by spamhaus)"),
            Some(Reason::Blocked)
        );
        assert_eq!(
            reason_in("550 5.1.1 addr: recipient address rejected: user unknown"),
            Some(Reason::UserUnknown)
        );
        assert_eq!(reason_in("552 mailbox full, user unknown"), Some(Reason::MailboxFull));
    }
}
