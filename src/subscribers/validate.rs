//! Validation of the values that end up in mail headers: the address (parsed
//! by lettre, ASCII only) and the display name (one line, no controls).

use lettre::Address;

/// Checks an address as written in a list; returns it trimmed. Addresses
/// with a non-ASCII local part need SMTPUTF8 end to end, which we do not
/// support, so they are refused here rather than half-handled later.
pub fn validate_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("missing email address".into());
    }
    if email.contains(['\r', '\n']) {
        return Err(format!("email address {} contains a line break", excerpt(email)));
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(format!(
            "email address {} is {} bytes long; addresses have at most {MAX_EMAIL_BYTES}",
            excerpt(email),
            email.len()
        ));
    }
    if !email.is_ascii() {
        let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
        if !local.is_ascii() {
            return Err(format!(
                "email address {email:?} has a non-ASCII local part; internationalised addresses (SMTPUTF8) are not supported"
            ));
        }
        if !domain.is_ascii() {
            return Err(format!(
                "email address {email:?} has a non-ASCII domain; write the domain in its ASCII (punycode, xn--) form"
            ));
        }
    }
    match email.parse::<Address>() {
        Ok(_) => Ok(email.to_string()),
        Err(e) => Err(format!(
            "{email:?} is not a valid email address: {}",
            crate::address::explain(email, e)
        )),
    }
}

/// Checks a display name; an empty one means none. A line break could start a
/// new mail header, so it is an error, as is any other control character.
pub fn validate_name(raw: &str) -> Result<Option<String>, String> {
    let name = raw.trim();
    if name.contains(['\r', '\n']) {
        return Err(format!(
            "name {} contains a line break (CR or LF), which is not allowed in a mail header",
            excerpt(name)
        ));
    }
    if let Some(problem) = crate::mime_header::text_problem(name) {
        return Err(format!("name {} contains {problem}", excerpt(name)));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "name {} is {chars} characters long; a mail header takes at most {MAX_NAME_CHARS}",
            excerpt(name)
        ));
    }
    Ok((!name.is_empty()).then(|| name.to_string()))
}

/// Longest address: RFC 5321's limit on a path.
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest display name: it goes into the To header.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest value of any other column.
pub const MAX_ATTRIBUTE_BYTES: usize = 10_000;

/// A value as quoted in an error message: escaped, and cut after 60
/// characters, so that a runaway field (an unterminated quote swallows the
/// rest of the file) does not print whole.
pub fn excerpt(value: &str) -> String {
    const MAX: usize = 60;
    let mut chars = value.char_indices();
    match chars.nth(MAX) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes in all)", &value[..cut], value.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(validate_email("  Ann@Example.com ").unwrap(), "Ann@Example.com");
        assert_eq!(validate_email("").unwrap_err(), "missing email address");
        assert_eq!(
            validate_email("a@b.com\r\nBcc: x@y.com").unwrap_err(),
            r#"email address "a@b.com\r\nBcc: x@y.com" contains a line break"#
        );
        assert_eq!(
            validate_email("민지@example.com").unwrap_err(),
            r#"email address "민지@example.com" has a non-ASCII local part; internationalised addresses (SMTPUTF8) are not supported"#
        );
        assert_eq!(
            validate_email("minji@예시.한국").unwrap_err(),
            r#"email address "minji@예시.한국" has a non-ASCII domain; write the domain in its ASCII (punycode, xn--) form"#
        );
        assert!(validate_email("minji@xn--9n2bp8q.xn--3e0b707e").is_ok());
        assert_eq!(
            validate_email("ann@@example.com").unwrap_err(),
            r#""ann@@example.com" is not a valid email address: it has more than one @"#
        );
        assert!(validate_email("no-at-sign").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(validate_name(" 김민지 ").unwrap().as_deref(), Some("김민지"));
        assert_eq!(validate_name("  ").unwrap(), None);
        assert!(validate_name("Eve\nBcc: x@y.com").unwrap_err().contains("line break"));
        assert!(validate_name("Eve\u{7}").unwrap_err().contains("control character"));
    }
}
