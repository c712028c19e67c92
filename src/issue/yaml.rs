//! YAML front matter (Jekyll, Eleventy, Hugo) read into the same TOML table
//! shape as `+++` front matter, so both are typed by one code path.
//! serde-saphyr with a budget: hostile nesting and sizes stop while parsing.

use crate::diag::{line_col, Diagnostic};
use std::path::Path;
use toml::Value;

/// Parses the YAML block starting at byte `front_start` of `text`; errors
/// point at the line of the issue file.
pub fn parse_yaml(path: &Path, text: &str, front_start: usize, block: &str) -> Result<toml::Table, Vec<Diagnostic>> {
    let first_line = line_col(text, front_start).0;
    let yaml_error = |line: usize, col: usize, msg: String| {
        vec![Diagnostic::error(
            path,
            line,
            col,
            format!("invalid YAML front matter: {msg}"),
        )]
    };
    if block.trim().is_empty() {
        return Ok(toml::Table::new());
    }
    // The budget stops hostile nesting (`[[[[…`) and sizes early, while
    // parsing, instead of after building a huge tree.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_depth: YAML_MAX_DEPTH, max_nodes: 100_000 },
    };
    let value: serde_json::Value = serde_saphyr::from_str_with_options(block, options).map_err(|e| {
        let (line, col) = e.location().map_or((first_line, 1), |l| {
            (first_line + l.line() as usize - 1, l.column() as usize)
        });
        yaml_error(line, col, yaml_message(&e))
    })?;
    match yaml_to_toml(value) {
        Some(Value::Table(t)) => Ok(t),
        _ => Err(yaml_error(first_line, 1, "expected `key: value` lines".into())),
    }
}

/// How deep YAML front matter may nest; real front matter needs two or three levels.
const YAML_MAX_DEPTH: usize = 32;

/// serde-saphyr's message without its source snippet and its own
/// "line N column M" (relative to the block; we report the file's line).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let msg = match first.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((_, msg)) => msg,
        None => first,
    };
    if msg.starts_with("budget breached: Depth") || msg.starts_with("recursion limit exceeded") {
        return format!("nested more than {YAML_MAX_DEPTH} levels deep");
    }
    // Some messages repeat the block-relative position at the end.
    match msg.rsplit_once(" at line ") {
        Some((text, pos)) if pos.contains(", column ") => text.to_string(),
        _ => msg.to_string(),
    }
}

/// YAML values as TOML values, so that both formats are typed by one code path.
/// `null` entries are dropped (an empty `draft:` means "not set").
fn yaml_to_toml(v: serde_json::Value) -> Option<Value> {
    use serde_json::Value as Y;
    Some(match v {
        Y::Null => return None,
        Y::Bool(b) => Value::Boolean(b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Y::String(s) => Value::String(s),
        Y::Array(items) => Value::Array(items.into_iter().filter_map(yaml_to_toml).collect()),
        Y::Object(m) => Value::Table(
            m.into_iter()
                .filter_map(|(k, v)| yaml_to_toml(v).map(|v| (k, v)))
                .collect(),
        ),
    })
}
