//! Front matter: split the `+++` (TOML), `---` (YAML) block or Pelican's
//! `Key: value` header off the body, deserialize it, then check and type each
//! field, naming the field and the line of the issue file on every error.
//! Keys are case-insensitive (Hugo, Eleventy); Zola's `[extra]` and
//! `[taxonomies]` tables are read too (see `keys`).

use super::dates::{date_from_file_name, parse_date};
use super::keys;
use super::model::FrontMatter;
use super::pelican;
use crate::diag::{line_col, Diagnostic};
use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    /// Pelican: `Key: value` lines up to the first blank line, no fences.
    Pelican,
}

impl Format {
    fn fence(self) -> &'static str {
        match self {
            Format::Toml => "+++",
            Format::Yaml | Format::Pelican => "---",
        }
    }
}

/// The front matter block and the body, as byte ranges of the whole file so
/// that diagnostics can point at lines of the issue file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub format: Format,
    /// Byte offset where the front matter text starts (after the opening line).
    pub front_start: usize,
    pub front_end: usize,
    /// Byte offset where the body starts (after the closing line).
    pub body_start: usize,
}

/// Finds the front matter fences, like zola's `front_matter/split.rs`:
/// the opening line is `+++` or `---` (trailing spaces allowed), the closing
/// line is the same fence alone on a line.
pub fn split(path: &Path, text: &str) -> Result<Split, Diagnostic> {
    let first_end = text.find('\n').map_or(text.len(), |i| i + 1);
    let first = text[..first_end].trim_end();
    let format = match first {
        "+++" => Format::Toml,
        "---" => Format::Yaml,
        _ => {
            if let Some(end) = pelican::header_end(text) {
                let body_start = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
                return Ok(Split {
                    format: Format::Pelican,
                    front_start: 0,
                    front_end: end,
                    body_start,
                });
            }
            return Err(Diagnostic::error(
                path,
                1,
                1,
                "missing front matter: the file must start with `+++` or `---`",
            )
            .with_hint(
                "open the file with a `+++` line, then `title = \"...\"` and `date = ...`, then a closing `+++` line",
            ));
        }
    };
    let mut offset = first_end;
    while offset < text.len() {
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i + 1);
        if text[offset..end].trim_end() == format.fence() {
            return Ok(Split {
                format,
                front_start: first_end,
                front_end: offset,
                body_start: end,
            });
        }
        offset = end;
    }
    let fence = format.fence();
    Err(Diagnostic::error(
        path,
        1,
        1,
        format!("unterminated front matter: no closing `{fence}` line"),
    )
    .with_hint(format!("did you forget the closing `{fence}`?")))
}

/// Deserializes and types the front matter block of `split`.
pub fn parse(path: &Path, text: &str, split: &Split) -> Result<FrontMatter, Vec<Diagnostic>> {
    let block = &text[split.front_start..split.front_end];
    let table = match split.format {
        Format::Toml => parse_toml(path, text, split, block)?,
        Format::Yaml => super::yaml::parse_yaml(path, text, split.front_start, block)?,
        Format::Pelican => pelican::parse(block).map_err(|line| {
            let msg = "invalid Pelican header: expected `Key: value` lines up to the first blank line";
            vec![Diagnostic::error(path, line + 1, 1, msg)]
        })?,
    };
    let (table, extra_table, duplicates) = keys::normalise(table);
    let mut fields = Fields {
        path,
        text,
        split,
        block,
        table,
        errors: Vec::new(),
    };
    for (first, second) in duplicates {
        let msg = format!("front matter: `{second}` repeats `{first}` (keys are case-insensitive)");
        fields.error(&second, msg, Some("keep one of them"));
    }
    let title = fields.required_string("title");
    let date = fields.date();
    let front = FrontMatter {
        title: title.unwrap_or_default(),
        date: date.map_or_else(|| DateTime::UNIX_EPOCH.fixed_offset(), |d| d.0),
        date_has_time: date.is_some_and(|d| d.1),
        authors: fields.strings("authors"),
        tags: fields.strings("tags"),
        categories: fields.strings("categories"),
        series: fields.strings("series"),
        draft: fields.bool("draft"),
        slug: fields.slug(),
        description: fields.optional_string("description"),
        number: fields.number(),
        extra: BTreeMap::new(),
    };
    let mut extra: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in fields.table.iter().chain(extra_table.iter()) {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        extra.entry(k.clone()).or_insert(v);
    }
    if fields.errors.is_empty() {
        Ok(FrontMatter { extra, ..front })
    } else {
        Err(fields.errors)
    }
}

fn parse_toml(path: &Path, text: &str, split: &Split, block: &str) -> Result<toml::Table, Vec<Diagnostic>> {
    block.parse::<toml::Table>().map_err(|e| {
        let at = e.span().map_or(split.front_start, |s| split.front_start + s.start);
        let (line, col) = line_col(text, at);
        let msg = e.message().trim().to_string();
        vec![Diagnostic::error(
            path,
            line,
            col,
            format!("invalid TOML front matter: {msg}"),
        )]
    })
}

/// Takes known keys out of the table one by one; what is left is `extra`.
struct Fields<'a> {
    path: &'a Path,
    text: &'a str,
    split: &'a Split,
    block: &'a str,
    table: toml::Table,
    errors: Vec<Diagnostic>,
}

impl Fields<'_> {
    /// The line of `key` in the issue file (the opening fence when absent).
    fn line_of(&self, key: &str) -> (usize, usize) {
        let mut offset = 0;
        for line in self.block.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let head = trimmed.get(..key.len()).filter(|h| h.eq_ignore_ascii_case(key));
            if let Some(rest) = head.map(|h| &trimmed[h.len()..]) {
                let rest = rest.trim_start();
                if rest.starts_with('=') || rest.starts_with(':') {
                    let indent = line.len() - trimmed.len();
                    return line_col(self.text, self.split.front_start + offset + indent);
                }
            }
            offset += line.len();
        }
        (1, 1)
    }

    fn error(&mut self, key: &str, msg: String, hint: Option<&str>) {
        let (line, col) = self.line_of(key);
        let mut d = Diagnostic::error(self.path, line, col, msg);
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.errors.push(d);
    }

    fn wrong_type(&mut self, key: &str, expected: &str, got: &Value) {
        let msg = format!("front matter `{key}`: expected {expected}, found {}", got.type_str());
        self.error(key, msg, None);
    }

    fn required_string(&mut self, key: &str) -> Option<String> {
        match self.table.remove(key) {
            None => {
                let hint = format!("add `{key} = \"...\"` to the front matter");
                self.error(key, format!("front matter: missing `{key}`"), Some(&hint));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(key, format!("front matter `{key}`: must not be empty"), None);
                None
            }
            Some(Value::String(s)) if s.contains(['\r', '\n']) => {
                self.error(key, format!("front matter `{key}`: must be one line"), None);
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.wrong_type(key, "a string", &other);
                None
            }
        }
    }

    fn optional_string(&mut self, key: &str) -> Option<String> {
        match self.table.remove(key) {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.wrong_type(key, "a string", &other);
                None
            }
        }
    }

    /// The date and whether it had a time of day.
    fn date(&mut self) -> Option<(DateTime<FixedOffset>, bool)> {
        let raw = match self.table.remove("date") {
            // Jekyll and Eleventy: the date in the file name.
            None if date_from_file_name(self.path).is_some() => {
                return date_from_file_name(self.path).map(|d| (d, false));
            }
            None => {
                let hint = "add `date = 2026-11-23T09:00:00+09:00` (or a bare date) to the front matter";
                self.error("date", "front matter: missing `date`".into(), Some(hint));
                return None;
            }
            // TOML datetimes display as RFC 3339 (or a bare date / local time).
            Some(Value::Datetime(dt)) => dt.to_string(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(other) => {
                self.wrong_type("date", "a date or date-time", &other);
                return None;
            }
        };
        match parse_date(&raw) {
            Ok(d) => Some(d),
            Err(why) => {
                let hint = "write an offset date-time like 2026-11-23T09:00:00+09:00, or a bare date like 2026-11-23";
                self.error("date", format!("front matter `date`: `{raw}` {why}"), Some(hint));
                None
            }
        }
    }

    fn strings(&mut self, key: &str) -> Vec<String> {
        match self.table.remove(key) {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(s),
                        other => {
                            self.wrong_type(key, "a list of strings", &other);
                            return Vec::new();
                        }
                    }
                }
                out
            }
            Some(other) => {
                self.wrong_type(key, "a list of strings", &other);
                Vec::new()
            }
        }
    }

    fn bool(&mut self, key: &str) -> bool {
        match self.table.remove(key) {
            None => false,
            Some(Value::Boolean(b)) => b,
            Some(other) => {
                self.wrong_type(key, "true or false", &other);
                false
            }
        }
    }

    /// `number = 552` (Pelican) or `issue = 2` (Eleventy): the issue number.
    /// Any other value stays an extra field.
    fn number(&mut self) -> Option<u32> {
        for key in ["number", "issue"] {
            let n = match self.table.get(key) {
                Some(Value::Integer(i)) => u32::try_from(*i).ok(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            if n.is_some() {
                self.table.remove(key);
                return n;
            }
        }
        None
    }

    /// The slug names folders (`outbox/<id>/`) and Message-IDs, so it is
    /// restricted to characters that are safe in both.
    fn slug(&mut self) -> Option<String> {
        let slug = self.optional_string("slug")?;
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if slug.is_empty() || slug.starts_with('.') || !slug.chars().all(safe) {
            let hint = "use letters, digits, `-`, `_` and `.` (not first), e.g. `2026-w47`";
            self.error(
                "slug",
                format!("front matter `slug`: `{slug}` is not a safe identifier"),
                Some(hint),
            );
            return None;
        }
        Some(slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_accepts_trailing_spaces_on_the_opening_fence() {
        let text = "+++ \ntitle = \"x\"\n+++\nbody\n";
        let s = split(Path::new("a.md"), text).unwrap();
        assert_eq!(s.format, Format::Toml);
        assert_eq!(&text[s.front_start..s.front_end], "title = \"x\"\n");
        assert_eq!(&text[s.body_start..], "body\n");
    }
}
