//! Pelican's metadata header: `Key: value` lines from the first line of the
//! file to the first blank line, no delimiters (Python-Markdown's `meta`
//! extension: a line indented by 4 spaces continues the previous value).
//! Read into the same table shape as TOML and YAML front matter.

use toml::Value;

/// Whether `line` reads as a Pelican `Key: value` line.
pub fn is_header_line(line: &str) -> bool {
    let Some((key, rest)) = line.split_once(':') else {
        return false;
    };
    let key_ok = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    key_ok && (rest.is_empty() || rest.starts_with([' ', '\t']) || rest.trim().is_empty())
}

/// The end of the header: byte offset of the first blank line (or the end).
/// `None` when the first line is not a header line.
pub fn header_end(text: &str) -> Option<usize> {
    let first = text.lines().next()?;
    if !is_header_line(first) {
        return None;
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            return Some(offset);
        }
        offset += line.len();
    }
    Some(text.len())
}

/// The header as a table: keys lower-cased, `tags`/`authors` split at commas
/// (`;` too, as Pelican allows), `author`/`category` as one-item lists,
/// `status: draft` as `draft = true`, `summary` as `description`.
/// Returns the 0-based line of each line that is not `Key: value`.
pub fn parse(block: &str) -> Result<toml::Table, usize> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, line) in block.lines().enumerate() {
        let continues = line.starts_with("    ") || line.starts_with('\t');
        match pairs.last_mut() {
            Some((_, value)) if continues => {
                value.push(' ');
                value.push_str(line.trim());
            }
            _ if is_header_line(line) => {
                let (k, v) = line.split_once(':').expect("checked");
                pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            _ => return Err(i),
        }
    }
    let mut table = toml::Table::new();
    for (key, value) in pairs {
        let list = |v: &str| {
            Value::Array(
                v.split([',', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )
        };
        let (key, value) = match key.as_str() {
            "tags" | "authors" => (key.clone(), list(&value)),
            "author" => ("authors".into(), list(&value)),
            "category" => ("categories".into(), Value::Array(vec![Value::String(value)])),
            "status" => ("draft".into(), Value::Boolean(value.eq_ignore_ascii_case("draft"))),
            "summary" => ("description".into(), Value::String(value)),
            _ => (key.clone(), Value::String(value)),
        };
        table.entry(key).or_insert(value);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines() {
        assert!(is_header_line("Title: This Week in Rust 552"));
        assert!(is_header_line("Tags:"));
        assert!(!is_header_line("Hello and welcome: to the issue"));
        assert!(!is_header_line("## Heading: x"));
        assert!(!is_header_line("https://example.com"));
        let text = "Title: A\nDate: 2024-06-19\n\nBody: text\n";
        assert_eq!(header_end(text), Some(26));
        assert_eq!(header_end("Not a header\n"), None);
    }

    #[test]
    fn values_are_typed_like_front_matter() {
        let t = parse("Title: This Week In Rust 1\nDate: 2013-06-07 18:46\nTags: a, b\nCategory: This Week\nStatus: draft\nAuthor: Corey\n    Richardson\n").unwrap();
        assert_eq!(t["title"].as_str(), Some("This Week In Rust 1"));
        assert_eq!(t["tags"].as_array().unwrap().len(), 2);
        assert_eq!(t["categories"].as_array().unwrap()[0].as_str(), Some("This Week"));
        assert_eq!(t["draft"].as_bool(), Some(true));
        assert_eq!(t["authors"].as_array().unwrap()[0].as_str(), Some("Corey Richardson"));
        assert_eq!(parse("Title: x\nnot a header line\n"), Err(1));
    }
}
