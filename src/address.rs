//! The one way addresses are compared: trimmed and lower-cased. The key is
//! what the journal, the suppression list, de-duplication, shards, tokens and
//! Message-IDs use, so that `Ann@Example.com` and `ann@example.com` are one
//! subscriber everywhere. (The local part is case-sensitive in theory, never
//! in practice; addresses are ASCII, see `subscribers::validate_email`.)

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

#[cfg(test)]
mod tests {
    #[test]
    fn id_is_stable_and_case_blind() {
        // Pinned: the journal stores ids, so they must never change.
        assert_eq!(super::id("ann@example.com"), super::id(" Ann@Example.COM "));
        assert_eq!(super::id("ann@example.com"), 0x71d4_f55f_72fa_128d);
        let long = format!("{}@example.com", "x".repeat(200));
        assert_eq!(super::id(&long), super::id(&long.to_uppercase()));
        assert_ne!(super::id("a@example.com"), super::id("b@example.com"));
    }

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(super::key("  Ann.Lee+News@Example.COM "), "ann.lee+news@example.com");
    }
}
