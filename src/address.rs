//! Addresses: the one way they are compared (trimmed and lower-cased), and
//! the one way they are parsed for people, with errors as plain sentences
//! instead of the library's wording ("Invalid email user").
//!
//! The key is what the journal, the suppression list, de-duplication,
//! shards, tokens and Message-IDs use, so that `Ann@Example.com` and
//! `ann@example.com` are one subscriber everywhere. (The local part is
//! case-sensitive in theory, never in practice; addresses are ASCII, see
//! `subscribers::validate_email`.)

use lettre::address::AddressError;
use lettre::message::Mailbox;
use lettre::Address;

/// The comparison key of an address.
pub fn key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The address's 64-bit id: the first 8 bytes (big-endian) of SHA-256 over
/// its key. Stable across versions and machines: the journal stores it
/// instead of the address, and shards are cut by it. Two different
/// addresses share an id with probability about n²/2^65 for n addresses
/// (3·10^-8 for a million); de-duplication compares the addresses
/// themselves when ids are equal (`send::recipients`).
pub fn id(email: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // Lower-casing in a small stack buffer: no allocation per address.
    let email = email.trim().as_bytes();
    for chunk in email.chunks(64) {
        let mut buf = [0u8; 64];
        for (b, c) in buf.iter_mut().zip(chunk) {
            *b = c.to_ascii_lowercase();
        }
        h.update(&buf[..chunk.len()]);
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Parses a bare address; the error is a sentence about `s`.
pub fn parse(s: &str) -> Result<Address, String> {
    s.trim()
        .parse::<Address>()
        .map_err(|e| format!("\"{s}\" is not a valid email address: {}", explain(s, e)))
}

/// Parses `address` or `Name <address>`; the error is a sentence about `s`.
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("\"{s}\" is not a valid email address: {}", explain(s, e)))
}

/// Why `input` is not an address, in words (the library only says which
/// part it gave up on, and for `Name <address>` forms not even that).
pub fn explain(input: &str, e: AddressError) -> String {
    let s = input.trim();
    // For `Name <address>`, talk about the address inside the brackets.
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(open), Some(close)) if open < close => &s[open + 1..close],
        (Some(_), _) | (_, Some(_)) => return "a `<` or `>` is missing (write `Name <name@example.com>`)".into(),
        _ => s,
    };
    let ats = addr.matches('@').count();
    if ats == 0 {
        return "it has no @ (an address looks like name@example.com)".into();
    }
    if ats > 1 && !addr.starts_with('"') {
        return "it has more than one @".into();
    }
    let (local, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
    if local.is_empty() {
        return "there is nothing before the @".into();
    }
    if domain.is_empty() {
        return "there is nothing after the @".into();
    }
    if addr.contains(char::is_whitespace) {
        return "it contains a space".into();
    }
    match e {
        AddressError::InvalidUser | AddressError::InvalidInput if !local_is_plain(local) => format!(
            "the part before the @ (`{local}`) has a character that is not allowed there, such as a comma, \
             bracket, semicolon or a dot at its start or end, or two dots in a row"
        ),
        AddressError::InvalidDomain | AddressError::InvalidInput if !domain_is_plain(domain) => format!(
            "the part after the @ (`{domain}`) is not a domain name: letters, digits, `-` and dots between them"
        ),
        AddressError::Unbalanced => "a `<` or `>` is missing (write `Name <name@example.com>`)".into(),
        _ => "write it as name@example.com, or as Name <name@example.com>".into(),
    }
}

fn local_is_plain(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c) || !c.is_ascii())
}

fn domain_is_plain(domain: &str) -> bool {
    if domain.starts_with('[') && domain.ends_with(']') {
        return true;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
    })
}

/// A warning about an address that parses but will hardly be deliverable:
/// a domain without a dot (`lee@example`), except an IP literal.
pub fn warning(email: &str) -> Option<String> {
    let domain = email.trim().rsplit_once('@')?.1;
    if domain.contains('.') || domain.starts_with('[') {
        return None;
    }
    Some(format!(
        "\"{}\": the domain `{domain}` has no dot, so mail to it cannot be delivered (was `.com` or similar left out?)",
        email.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_stable_and_case_blind() {
        // Pinned: the journal stores ids, so they must never change.
        assert_eq!(id("ann@example.com"), id(" Ann@Example.COM "));
        assert_eq!(id("ann@example.com"), 0x71d4_f55f_72fa_128d);
        let long = format!("{}@example.com", "x".repeat(200));
        assert_eq!(id(&long), id(&long.to_uppercase()));
        assert_ne!(id("a@example.com"), id("b@example.com"));
    }

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(key("  Ann.Lee+News@Example.COM "), "ann.lee+news@example.com");
    }

    #[test]
    fn errors_are_sentences() {
        let cases = [
            ("lee.example.com", "it has no @ (an address looks like name@example.com)"),
            ("ann@@example.com", "it has more than one @"),
            ("@example.com", "there is nothing before the @"),
            ("ann@", "there is nothing after the @"),
            ("ann lee@example.com", "it contains a space"),
            (
                "ann,lee@example.com",
                "the part before the @ (`ann,lee`) has a character that is not allowed there, such as a comma, \
                 bracket, semicolon or a dot at its start or end, or two dots in a row",
            ),
            (
                "ann@example..com",
                "the part after the @ (`example..com`) is not a domain name: letters, digits, `-` and dots between them",
            ),
            ("Ann <ann@example.com", "a `<` or `>` is missing (write `Name <name@example.com>`)"),
        ];
        for (input, why) in cases {
            let got = parse_mailbox(input).unwrap_err();
            assert_eq!(
                got,
                format!("\"{input}\" is not a valid email address: {why}"),
                "{input}"
            );
            assert!(!got.contains("Invalid email"), "{got}");
        }
        assert_eq!(
            parse("ann.@example.com").unwrap_err(),
            "\"ann.@example.com\" is not a valid email address: the part before the @ (`ann.`) has a character \
             that is not allowed there, such as a comma, bracket, semicolon or a dot at its start or end, or two dots in a row"
        );
        assert!(parse_mailbox("Ann Lee <ann@example.com>").is_ok());
    }

    #[test]
    fn a_domain_without_a_dot_is_a_warning() {
        assert_eq!(
            warning("lee@example").unwrap(),
            "\"lee@example\": the domain `example` has no dot, so mail to it cannot be delivered \
             (was `.com` or similar left out?)"
        );
        assert_eq!(warning("lee@example.com"), None);
        assert_eq!(warning("lee@[192.0.2.1]"), None);
        assert!(parse("lee@example").is_ok(), "a warning, not an error");
    }
}
