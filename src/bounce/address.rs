//! Email addresses inside free text: bounce bodies quote recipients in many
//! shapes (`<a@b>`, `a@b:`, `"a@b"`, `mailto:a@b`, `rfc822; a@b`).

/// An address found in a text, lower-cased, with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub address: String,
    pub start: usize,
    pub end: usize,
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '.'
}

/// Every address-shaped word in `text`, in order.
pub fn find_all(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        if let Some(found) = quoted_at(text, at) {
            if out.last().is_none_or(|f: &Found| f.end <= found.start) {
                out.push(found);
            }
            continue;
        }
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_local_char(c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = text[at + 1..]
            .char_indices()
            .take_while(|&(_, c)| is_domain_char(c))
            .last()
            .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
        let local = strip_parameter_name(text[start..at].trim_start_matches(['.', '=', '/']));
        let start = at - local.len();
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        if let Some(address) = normalise(local, domain) {
            if out.last().is_none_or(|f: &Found| f.end <= start) {
                out.push(Found {
                    address,
                    start,
                    end: at + 1 + domain.len(),
                });
            }
        }
    }
    out
}

/// `"odd..local"@example.org`: a quoted local part ending right before `@`.
fn quoted_at(text: &str, at: usize) -> Option<Found> {
    let before = text[..at].strip_suffix('"')?;
    let open = before.rfind('"')?;
    let local = &text[open..at];
    // Control characters (a terminal escape, a line break) never belong in
    // an address that is printed or stored.
    if local.len() > 66 || local.chars().any(char::is_control) {
        return None;
    }
    let end = text[at + 1..]
        .char_indices()
        .take_while(|&(_, c)| is_domain_char(c))
        .last()
        .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
    let domain = text[at + 1..end].trim_end_matches(['.', '-']);
    let address = normalise(local, domain)?;
    Some(Found {
        address,
        start: open,
        end: at + 1 + domain.len(),
    })
}

/// `smtp.mailfrom=a@b`, `ORCPT=a@b`: a parameter name glued to the address.
/// VERP local parts (`bounces+x=y@`) keep their `=`.
fn strip_parameter_name(local: &str) -> &str {
    let Some((name, rest)) = local.split_once('=') else {
        return local;
    };
    let name_like = name
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '.' || c == '-' || c == '_');
    let known = [
        "from",
        "to",
        "rcpt",
        "orcpt",
        "sender",
        "recipient",
        "email",
        "user",
        "addr",
    ];
    let lower = name.to_ascii_lowercase();
    if name_like && known.iter().any(|k| lower.ends_with(k)) {
        rest
    } else {
        local
    }
}

fn normalise(local: &str, domain: &str) -> Option<String> {
    // Dots in odd places are invalid in RFC 5322 but real (some mobile
    // carriers handed such addresses out), so they are kept.
    if local.is_empty() || local.len() > 66 || local == "\"\"" {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let ok_labels = labels
        .iter()
        .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'));
    if labels.len() < 2 || !ok_labels || domain.len() > 253 {
        return None;
    }
    // The last label of a real domain is not all digits (that is an IP).
    if labels.last().is_some_and(|l| l.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    // The one comparison key (crate::address), so a bounce names an address
    // exactly as the subscriber list and the journal do.
    Some(crate::address::key(&format!("{local}@{domain}")))
}

/// The first address in `text`, if any.
pub fn first(text: &str) -> Option<String> {
    find_all(text).into_iter().next().map(|f| f.address)
}

/// `rfc822; <a@b>` → `a@b`: the address of a DSN address field, whatever
/// its address type says (some MTAs write `RFC822; <a@b>`, `a@b`, `<a@b>`).
pub fn from_field(value: &str) -> Option<String> {
    let v = value.split_once(';').map_or(value, |(_, rest)| rest);
    first(v).or_else(|| first(value))
}

/// Addresses that are never a bounced recipient: the mail system itself.
pub fn is_system_address(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    matches!(
        local,
        "mailer-daemon" | "postmaster" | "mail-daemon" | "mailerdaemon" | "mail.delivery.system" | "root"
    ) || local.starts_with("mailer-daemon")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(t: &str) -> Vec<String> {
        find_all(t).into_iter().map(|f| f.address).collect()
    }

    #[test]
    fn finds_addresses_in_their_usual_wrappings() {
        assert_eq!(all("<Kijitora@Example.JP>: 550"), ["kijitora@example.jp"]);
        assert_eq!(all("rcpt to:<a@b.example>... User unknown."), ["a@b.example"]);
        assert_eq!(all("\"x@y.org\": host"), ["x@y.org"]);
        assert_eq!(all("Neko<mailto:mike@example.co.jp>"), ["mike@example.co.jp"]);
        assert_eq!(all("a@b.example and c.d@e.example."), ["a@b.example", "c.d@e.example"]);
    }

    #[test]
    fn ignores_what_is_not_an_address() {
        assert!(all("user@localhost").is_empty());
        assert!(all("a@192.0.2.1").is_empty());
        assert!(all("@example.com").is_empty());
        assert_eq!(all("smtp.mailfrom=k@example.jp"), ["k@example.jp"]);
    }

    #[test]
    fn quoted_and_odd_local_parts() {
        assert_eq!(
            all("<\"neko....nyaan....\"@Example.org>... User"),
            ["\"neko....nyaan....\"@example.org"]
        );
        assert_eq!(all("rfc822;neko..nyaan.@docomo.ne.jp"), ["neko..nyaan.@docomo.ne.jp"]);
        assert!(all("<\"\x1b[31mx\"@example.org>").iter().all(|a| !a.contains('\x1b')));
    }

    #[test]
    fn field_values() {
        assert_eq!(from_field("rfc822; <A@B.example>").as_deref(), Some("a@b.example"));
        assert_eq!(from_field("a@b.example").as_deref(), Some("a@b.example"));
        assert_eq!(from_field("x400; /PN=x/"), None);
    }
}
