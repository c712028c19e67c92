//! `bounce_address` with `{token}`: the VERP address template of the
//! config. Parsing and the RFC 5321 length rule live here, with the config;
//! making and reading tokens (which needs the key) lives in the `verp` module.

use lettre::Address;

/// The placeholder in `bounce_address`.
pub const PLACEHOLDER: &str = "{token}";
/// Characters of a token.
pub const TOKEN_LEN: usize = 24;
/// RFC 5321: a local part is at most 64 octets.
const MAX_LOCAL_PART: usize = 64;
/// Lower-case base32 (RFC 4648): the characters of a token.
pub(crate) const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `bounce_address` with `{token}` in its local part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    prefix: String,
    suffix: String,
    domain: String,
}

impl Template {
    /// `bounces+{token}@example.com`. The local part with a token must fit
    /// in 64 octets and the result must be a valid address.
    pub fn parse(s: &str) -> Result<Template, String> {
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| format!("\"{s}\" is not an address"))?;
        if domain.contains(PLACEHOLDER) || local.matches(PLACEHOLDER).count() != 1 {
            return Err(format!("\"{s}\": {PLACEHOLDER} must appear once, in the local part"));
        }
        let (prefix, suffix) = local.split_once(PLACEHOLDER).expect("counted once");
        let t = Template {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            domain: domain.to_string(),
        };
        let longest = prefix.len() + TOKEN_LEN + suffix.len();
        if longest > MAX_LOCAL_PART {
            return Err(format!(
                "\"{s}\": with its {TOKEN_LEN}-character token the local part is {longest} octets, over the 64 that SMTP allows"
            ));
        }
        let sample = "a".repeat(TOKEN_LEN);
        t.try_address(&sample)
            .map_err(|e| format!("\"{s}\" does not make a valid address ({e})"))?;
        t.plain()?;
        Ok(t)
    }

    fn try_address(&self, token: &str) -> Result<Address, String> {
        format!("{}{token}{}@{}", self.prefix, self.suffix, self.domain)
            .parse::<Address>()
            .map_err(|e| e.to_string())
    }

    /// The envelope sender for one token.
    pub fn address(&self, token: &str) -> Address {
        self.try_address(token)
            .expect("checked by parse with a token of the same shape")
    }

    /// The address without a token (`bounces@example.com`), for mail that
    /// is not an issue (sign-up confirmations): the template with the
    /// placeholder and a separator next to it removed.
    pub fn plain(&self) -> Result<Address, String> {
        let sep = |c: char| matches!(c, '+' | '-' | '=' | '.' | '_');
        let prefix = self.prefix.trim_end_matches(sep);
        let suffix = if prefix.len() == self.prefix.len() {
            self.suffix.trim_start_matches(sep)
        } else {
            &self.suffix
        };
        let local = format!("{prefix}{suffix}");
        if local.is_empty() {
            return Err("the address without its token has an empty local part".into());
        }
        format!("{local}@{}", self.domain)
            .parse::<Address>()
            .map_err(|e| format!("the address without its token is not valid ({e})"))
    }

    /// Every token in `text` that sits in an address of this template
    /// (compared without regard to case), in order, without repeats.
    pub fn find_tokens(&self, text: &str) -> Vec<String> {
        let lower = text.to_ascii_lowercase();
        let (prefix, suffix) = (self.prefix.to_ascii_lowercase(), self.suffix.to_ascii_lowercase());
        let tail = format!("{suffix}@{}", self.domain.to_ascii_lowercase());
        let mut out: Vec<String> = Vec::new();
        for (at, _) in lower.match_indices(&prefix) {
            let start = at + prefix.len();
            let Some(token) = lower.get(start..start + TOKEN_LEN) else {
                continue;
            };
            let is_token = token.bytes().all(|b| ALPHABET.contains(&b));
            let before_ok = at == 0 || !is_local_char(lower.as_bytes()[at - 1]) || prefix.is_empty();
            if is_token && before_ok && lower[start + TOKEN_LEN..].starts_with(&tail) && !out.iter().any(|t| t == token)
            {
                out.push(token.to_string());
            }
        }
        out
    }
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}
