//! Unknown keys in `newsletter.toml`: every one is reported at its own line
//! before serde runs (serde stops at the first), with the closest known key
//! ("did you mean `rate_per_second`?"), the section a misplaced key belongs
//! in, or, for `password = …`, where secrets go instead.

use crate::diag::{line_col, Diagnostic};
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// Diagnostics for every unknown section and key; empty when all are known
/// (or when the text does not parse: serde then reports the syntax error).
pub(super) fn keys(path: &Path, text: &str) -> Vec<Diagnostic> {
    let Ok(doc) = DeTable::parse(text) else {
        return Vec::new();
    };
    let sections = super::sections::sections();
    let mut out = Vec::new();
    let at = |offset: usize| line_col(text, offset);
    for (name, value) in doc.get_ref() {
        let (line, col) = at(name.span().start);
        let name = name.get_ref().as_ref();
        let DeValue::Table(table) = value.get_ref() else {
            let msg = match home_of(name) {
                Some(home) => format!("`{name}` must be inside a section: put it under [{home}]"),
                None => format!("unknown key `{name}` outside any section"),
            };
            out.push(Diagnostic::error(path, line, col, secret_note(name).unwrap_or(msg)));
            continue;
        };
        if !sections.contains(&name) {
            let mut msg = format!("unknown section [{name}]");
            match closest(name, sections) {
                Some(c) => msg.push_str(&format!("; did you mean [{c}]?")),
                None => msg.push_str(&format!("; the sections are {}", list(sections))),
            }
            out.push(Diagnostic::error(path, line, col, msg));
            continue;
        }
        let Some(known) = super::sections::section_keys(name) else {
            continue;
        };
        for (key, _) in table {
            let key_name = key.get_ref().as_ref();
            if known.contains(&key_name) {
                continue;
            }
            let (line, col) = at(key.span().start);
            out.push(Diagnostic::error(path, line, col, unknown_key(name, key_name, known)));
        }
    }
    // The parsed tables do not keep the file's order.
    out.sort_by_key(|d| (d.line, d.col));
    out
}

fn unknown_key(section: &str, key: &str, known: &[&str]) -> String {
    if let Some(note) = secret_note(key) {
        return note;
    }
    let mut msg = format!("unknown key `{key}` in [{section}]");
    if let Some(home) = home_of(key) {
        msg.push_str(&format!("; it belongs in [{home}]"));
    } else if let Some(c) = closest(key, known) {
        msg.push_str(&format!("; did you mean `{c}`?"));
    } else {
        msg.push_str(&format!("; the keys of [{section}] are {}", list(known)));
    }
    msg
}

/// Secrets never live in the config file: say where they go instead.
fn secret_note(key: &str) -> Option<String> {
    let k = key.to_ascii_lowercase();
    if matches!(k.as_str(), "password" | "pass" | "passwd" | "smtp_password") {
        return Some(format!(
            "`{key}`: secrets never go in newsletter.toml; in [smtp], name the environment variable that holds \
             the password with password_env = \"NEWSLETTER_SMTP_PASSWORD\", or a command that prints it with \
             password_command = [\"pass\", \"show\", \"smtp\"]"
        ));
    }
    if matches!(
        k.as_str(),
        "secret" | "unsubscribe_secret" | "unsubscribe_key" | "token_secret"
    ) {
        return Some(format!(
            "`{key}`: secrets never go in newsletter.toml; export the unsubscribe key as \
             NEWSLETTER_UNSUBSCRIBE_SECRET (or name another variable with unsubscribe_secret_env in [newsletter])"
        ));
    }
    None
}

/// The section a key belongs to, when some section knows it.
fn home_of(key: &str) -> Option<&'static str> {
    super::sections::sections()
        .iter()
        .copied()
        .find(|s| super::sections::section_keys(s).is_some_and(|k| k.contains(&key)))
}

/// The known name closest to `word`, when it is close enough to be a typo
/// or an abbreviation (`rate_per_sec` → `rate_per_second`).
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| {
            let prefix = k.starts_with(&w) || w.starts_with(*k);
            (strsim::damerau_levenshtein(&w, k), !prefix, *k)
        })
        .filter(|(d, not_prefix, k)| !*not_prefix && w.len() >= 3 || *d <= (k.len().max(w.len()) / 3).max(1))
        .min_by_key(|(d, not_prefix, _)| (*not_prefix, *d))
        .map(|(_, _, k)| k)
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// serde's own unknown-field message, for sections not listed above:
/// `unknown field `x`, expected one of `a`, `b`` gets a did-you-mean.
pub(super) fn explain(msg: &str) -> String {
    let Some(rest) = msg.strip_prefix("unknown field `") else {
        return msg.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if let Some(note) = secret_note(field) {
        return note;
    }
    match closest(field, &known) {
        Some(c) => format!("unknown key `{field}`; did you mean `{c}`?"),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "[newsletter]\nname = \"N\"\nfrom = \"N <n@example.com>\"\n";

    fn errors(extra: &str) -> Vec<String> {
        let text = format!("{MIN}{extra}");
        keys(Path::new("n.toml"), &text)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_unknown_key_at_its_line_with_the_closest_known_one() {
        let got = errors("max_age = 3\n[smtp]\nrate_per_sec = 5\nhots = \"x\"\nmax_age_days = 2\nfrobnicate = 1\n");
        assert_eq!(
            got,
            [
                "n.toml:4:1: error: unknown key `max_age` in [newsletter]; did you mean `max_age_days`?",
                "n.toml:6:1: error: unknown key `rate_per_sec` in [smtp]; did you mean `rate_per_second`?",
                "n.toml:7:1: error: unknown key `hots` in [smtp]; did you mean `host`?",
                "n.toml:8:1: error: unknown key `max_age_days` in [smtp]; it belongs in [newsletter]",
                "n.toml:9:1: error: unknown key `frobnicate` in [smtp]; the keys of [smtp] are `host`, `port`, \
                 `security`, `allow_insecure`, `username`, `password_env`, `password_command`, `timeout_secs`, \
                 `concurrency`, `rate_per_second`, `retries`, `helo_name`, `max_per_hour`, `max_per_day`",
            ]
        );
    }

    #[test]
    fn a_password_in_the_file_says_where_secrets_go() {
        let got = errors("[smtp]\npassword = \"hunter2\"\n");
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0],
            "n.toml:5:1: error: `password`: secrets never go in newsletter.toml; in [smtp], name the environment \
             variable that holds the password with password_env = \"NEWSLETTER_SMTP_PASSWORD\", or a command that \
             prints it with password_command = [\"pass\", \"show\", \"smtp\"]"
        );
        assert!(!got[0].contains("hunter2"), "the value is never repeated");
        let got = errors("unsubscribe_secret = \"abc\"\n");
        assert!(
            got[0].contains("export the unsubscribe key as NEWSLETTER_UNSUBSCRIBE_SECRET"),
            "{}",
            got[0]
        );
    }

    #[test]
    fn unknown_sections_and_keys_outside_sections() {
        let text = format!("host = \"x\"\n{MIN}[smpt]\nhost = \"x\"\n");
        let got: Vec<String> = keys(Path::new("n.toml"), &text)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "n.toml:1:1: error: `host` must be inside a section: put it under [smtp]",
                "n.toml:5:2: error: unknown section [smpt]; did you mean [smtp]?",
            ]
        );
    }

    #[test]
    fn later_sections_are_covered_too() {
        let got = errors("[theme]\nlink_colour = \"#123456\"\n[serve]\nmax_connection = 5\n");
        assert_eq!(
            got,
            [
                "n.toml:5:1: error: unknown key `link_colour` in [theme]; did you mean `link_color`?",
                "n.toml:7:1: error: unknown key `max_connection` in [serve]; did you mean `max_connections`?",
            ]
        );
    }

    #[test]
    fn serde_messages_get_a_did_you_mean() {
        assert_eq!(
            explain("unknown field `selectr`, expected one of `domain`, `selector`, `key_file`"),
            "unknown key `selectr`; did you mean `selector`?"
        );
        assert_eq!(explain("missing field `name`"), "missing field `name`");
    }
}
