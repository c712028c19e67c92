//! RFC 3464 delivery status fields (`message/delivery-status` and RFC 6533
//! `message/global-delivery-status`): one per-message block, then one block
//! per recipient, each a list of header-style fields.

use super::address;

/// The fields of one recipient block that the reading uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsnRecipient {
    pub final_recipient: Option<String>,
    pub original_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    /// `Status: 5.0.0 (permanent failure)`: the comment after the code.
    pub status_comment: Option<String>,
    pub diagnostic: Option<String>,
}

impl DsnRecipient {
    /// The `Original-Recipient` address, when it differs from the final one.
    pub fn original(&self) -> Option<String> {
        let original = self.original_recipient.as_deref().and_then(address_of)?;
        (self.recipient().as_deref() != Some(original.as_str())).then_some(original)
    }

    /// The RFC 3464 action, when it is one of the five.
    pub fn action(&self) -> Option<&str> {
        let a = self.action.as_deref()?.split([' ', '(', ';']).next()?;
        ["failed", "delayed", "delivered", "relayed", "expanded"]
            .into_iter()
            .find(|k| *k == a)
    }

    /// The address this block is about.
    pub fn recipient(&self) -> Option<String> {
        self.final_recipient
            .as_deref()
            .and_then(address_of)
            .or_else(|| self.original_recipient.as_deref().and_then(address_of))
    }
}

/// `rfc822; a@b`, or RFC 6533 `utf-8; \x{4E2D}@b` → the address.
fn address_of(value: &str) -> Option<String> {
    address::from_field(&decode_unitext(value))
}

/// RFC 6533 `\x{HEX}` escapes in a `utf-8` address type.
fn decode_unitext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("\\x{") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 3..];
        let decoded = tail
            .find('}')
            .filter(|&end| end <= 6)
            .and_then(|end| u32::from_str_radix(&tail[..end], 16).ok().map(|cp| (end, cp)))
            .and_then(|(end, cp)| char::from_u32(cp).map(|c| (end, c)));
        match decoded {
            Some((end, c)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push_str("\\x{");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits a status part into (field name lower-cased, unfolded value)
/// blocks. Lines that are neither a field nor indented continue the
/// previous field: some MTAs break long diagnostics without indenting.
fn blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if out.last().is_some_and(|b| !b.is_empty()) {
                out.push(Vec::new());
            }
            continue;
        }
        let block = out.last_mut().expect("never empty");
        let field = field_name(line);
        match (field, block.last_mut()) {
            (Some(name), _) if !line.starts_with([' ', '\t']) => {
                let value = line[name.len() + 1..].trim().to_string();
                block.push((name.to_ascii_lowercase(), value));
            }
            (_, Some((_, value))) => {
                value.push(' ');
                value.push_str(line.trim());
            }
            (_, None) => {}
        }
    }
    out.retain(|b| !b.is_empty());
    out
}

/// Every field of a header-style part, in order (for feedback reports).
pub fn fields(text: &str) -> Vec<(String, String)> {
    blocks(text).into_iter().flatten().collect()
}

/// `Final-Recipient: …` → `Final-Recipient`.
fn field_name(line: &str) -> Option<&str> {
    let colon = line.find(':')?;
    let name = &line[..colon];
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(name)
}

/// Reads the recipient blocks of a delivery-status part. Fields before the
/// first recipient field of a block belong to it too (some MTAs write
/// `Action:` first); a second `Final-Recipient` in one block starts another
/// recipient (some MTAs forget the blank line).
pub fn parse(text: &str) -> Vec<DsnRecipient> {
    let mut out = Vec::new();
    for block in blocks(text) {
        let mut current = DsnRecipient::default();
        let mut has_fields = false;
        for (name, value) in block {
            let is_recipient_field = name == "final-recipient" || name == "original-recipient";
            let repeated = (name == "final-recipient" && current.final_recipient.is_some())
                || (name == "original-recipient" && current.original_recipient.is_some());
            if is_recipient_field && repeated {
                out.push(std::mem::take(&mut current));
            }
            has_fields |= is_recipient_field;
            apply(&mut current, &name, value);
        }
        if has_fields {
            out.push(current);
        }
    }
    out.retain(|r| r.recipient().is_some());
    out
}

fn apply(r: &mut DsnRecipient, name: &str, value: String) {
    match name {
        "final-recipient" => r.final_recipient = Some(value),
        "original-recipient" => r.original_recipient = Some(value),
        "action" => r.action = Some(value.to_ascii_lowercase()),
        "status" => {
            let (code, comment) = match value.split_once([' ', '(']) {
                Some((code, rest)) => (code.to_string(), Some(rest.trim().to_string())),
                None => (value, None),
            };
            r.status = Some(code);
            r.status_comment = comment.filter(|c| !c.is_empty());
        }
        "diagnostic-code" => {
            // `smtp; 550 …`: the type names the protocol of the text.
            let text = value
                .split_once(';')
                .map_or(value.as_str(), |(_, t)| t)
                .trim()
                .to_string();
            r.diagnostic = Some(match r.diagnostic.take() {
                Some(prev) => format!("{prev} {text}"),
                None => text,
            });
        }
        _ => {}
    }
}

/// Does `text` contain delivery-status fields (a DSN pasted into a text
/// part, as some relays do)? Returns the text from the first such field.
pub fn inline(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let has_recipient = lower.contains("\nfinal-recipient:") || lower.starts_with("final-recipient:");
    let has_outcome = lower.contains("\naction:") || lower.contains("\nstatus:");
    if !(has_recipient && has_outcome) {
        return None;
    }
    let start = [
        "\nreporting-mta:",
        "\naction:",
        "\nfinal-recipient:",
        "\noriginal-recipient:",
    ]
    .iter()
    .filter_map(|p| lower.find(p))
    .min()?;
    text.get(start + 1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Mon, 1 Jan 2024\r\n\r\n\
        Final-Recipient: rfc822; One@Example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
        Diagnostic-Code: smtp; 550 5.1.1 <one@example.org>: Recipient address\r\n    rejected: User unknown\r\n\r\n\
        Final-Recipient: RFC822; <two@example.org>\r\nAction: delayed\r\nStatus: 4.0.0 (temporary failure)\r\n";

    #[test]
    fn reads_recipient_blocks() {
        let r = parse(TWO);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].recipient().as_deref(), Some("one@example.org"));
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r[0].diagnostic.as_deref(),
            Some("550 5.1.1 <one@example.org>: Recipient address rejected: User unknown")
        );
        assert_eq!(r[1].recipient().as_deref(), Some("two@example.org"));
        assert_eq!(r[1].action.as_deref(), Some("delayed"));
        assert_eq!(r[1].status_comment.as_deref(), Some("(temporary failure)"));
    }

    #[test]
    fn a_missing_blank_line_still_splits_recipients() {
        let r = parse("Final-Recipient: rfc822; a@x.example\nStatus: 5.2.2\nFinal-Recipient: rfc822; b@x.example\nStatus: 5.1.1\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn global_addresses_are_decoded() {
        let r = parse("Final-Recipient: utf-8; \\x{4E2D}\\x{6587}@example.com\nAction: failed\nStatus: 5.1.1\n");
        assert_eq!(r[0].recipient().as_deref(), Some("中文@example.com"));
    }

    #[test]
    fn inline_status_fields_are_found() {
        let t = "An error occurred.\n\nTechnical report:\n\nReporting-MTA: dsn; a\n\nAction: failed\nFinal-Recipient: rfc822; k@example.jp\nStatus: 5.1.1\n";
        let found = inline(t).unwrap();
        assert!(found.starts_with("Reporting-MTA"));
        assert_eq!(parse(found)[0].recipient().as_deref(), Some("k@example.jp"));
        assert!(inline("Final-Recipient only, no outcome").is_none());
    }
}
