//! Where each key of `newsletter.toml` was written, from one span-keeping
//! parse of the text, so that any later check (the subject template, the
//! unsubscribe key, DKIM) can name the line without reading the file again.

use crate::diag::line_col;
use std::collections::HashMap;
use toml::de::{DeTable, DeValue};

/// A 1-based (line, column).
type Position = (usize, usize);

/// `"section.key"` → the position of the key and of its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans {
    keys: HashMap<String, (Position, Position)>,
}

impl Spans {
    /// Records every key of every top-level table. Text that does not parse
    /// gives no spans; serde reports the syntax error itself.
    pub fn of(text: &str) -> Spans {
        let mut keys = HashMap::new();
        let Ok(doc) = DeTable::parse(text) else {
            return Spans { keys };
        };
        let at = |offset: usize| line_col(text, offset);
        for (section, value) in doc.get_ref() {
            let DeValue::Table(table) = value.get_ref() else {
                continue;
            };
            for (key, value) in table {
                let name = format!("{}.{}", section.get_ref(), key.get_ref());
                keys.insert(name, (at(key.span().start), at(value.span().start)));
            }
        }
        Spans { keys }
    }

    /// The position of `key` (`"newsletter.subject"`), or (0, 0): the whole file.
    pub fn key(&self, key: &str) -> (usize, usize) {
        self.keys.get(key).map_or((0, 0), |(k, _)| *k)
    }

    /// The position of the value of `key`, or (0, 0).
    pub fn value(&self, key: &str) -> (usize, usize) {
        self.keys.get(key).map_or((0, 0), |(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_have_positions() {
        let s = Spans::of("[newsletter]\nname = \"N\"\n\n[smtp]\n  port = 25\n");
        assert_eq!(s.key("newsletter.name"), (2, 1));
        assert_eq!(s.value("newsletter.name"), (2, 8));
        assert_eq!(s.key("smtp.port"), (5, 3));
        assert_eq!(s.key("smtp.host"), (0, 0));
        assert_eq!(Spans::of("[broken"), Spans::default());
    }
}
