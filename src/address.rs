//! The one way addresses are compared: trimmed and lower-cased. The key is
//! what the journal, the suppression list, de-duplication, shards, tokens and
//! Message-IDs use, so that `Ann@Example.com` and `ann@example.com` are one
//! subscriber everywhere. (The local part is case-sensitive in theory, never
//! in practice; addresses are ASCII, see `subscribers::validate_email`.)

/// The comparison key of an address.
pub fn key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn trims_and_lowercases() {
        assert_eq!(super::key("  Ann.Lee+News@Example.COM "), "ann.lee+news@example.com");
    }
}
