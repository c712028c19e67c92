//! YAML front matter (Jekyll, Eleventy, Hugo) read into the same TOML table
//! shape as `+++` front matter, so both are typed by one code path.

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
    let value: serde_yaml::Value = serde_yaml::from_str(block).map_err(|e| {
        let (line, col) = e
            .location()
            .map_or((first_line, 1), |l| (first_line + l.line() - 1, l.column()));
        // serde_yaml appends "at line N column M" relative to the block: drop it.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        yaml_error(line, col, msg)
    })?;
    match yaml_to_toml(value) {
        Some(Value::Table(t)) => Ok(t),
        _ => Err(yaml_error(first_line, 1, "expected `key: value` lines".into())),
    }
}

/// YAML values as TOML values, so that both formats are typed by one code path.
/// `null` entries are dropped (an empty `draft:` means "not set").
fn yaml_to_toml(v: serde_yaml::Value) -> Option<Value> {
    use serde_yaml::Value as Y;
    Some(match v {
        Y::Null => return None,
        Y::Bool(b) => Value::Boolean(b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().filter_map(yaml_to_toml).collect()),
        Y::Mapping(m) => {
            let mut t = toml::Table::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    _ => continue,
                };
                if let Some(v) = yaml_to_toml(v) {
                    t.insert(key, v);
                }
            }
            Value::Table(t)
        }
        Y::Tagged(t) => return yaml_to_toml(t.value),
    })
}
