//! TOML subscriber files: `[[subscriber]]` tables with `email`, `name`,
//! `status` and an `attributes` table. Meant for short hand-written lists,
//! so the file is read whole.

use super::{RawEntry, Sink};
use crate::diag::{line_col, Diagnostic};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    subscriber: Vec<Spanned<RawSubscriber>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscriber {
    email: Spanned<String>,
    name: Option<String>,
    status: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, toml::Value>,
}

/// Loads one TOML subscriber file into `sink`.
pub(crate) fn load(file: &Arc<Path>, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    let text = crate::files::read_text(file, crate::files::MAX_TOML_LIST_BYTES)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    parse(file, &text, sink);
    Ok(())
}

pub(crate) fn parse(file: &Arc<Path>, text: &str, sink: &mut Sink<'_>) {
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            let msg = format!("invalid subscriber file: {}", e.message().trim());
            sink.diagnostic(Diagnostic::error(file, line, col, msg));
            return;
        }
    };
    if raw.subscriber.is_empty() {
        sink.diagnostic(Diagnostic::warning(file, 0, 0, "no [[subscriber]] entries"));
    }
    for entry in raw.subscriber {
        // The line of the `email` key: tables' spans start at their header,
        // which is less useful when several entries share one line style.
        let line = line_col(text, entry.get_ref().email.span().start).0 as u64;
        let s = entry.into_inner();
        let attributes = s
            .attributes
            .into_iter()
            .filter_map(|(k, v)| {
                let v = match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                (!v.is_empty()).then(|| (Arc::from(k.as_str()), v))
            })
            .collect();
        let entry = RawEntry {
            line,
            email: s.email.get_ref(),
            name: s.name.as_deref(),
            status: s.status.as_deref(),
            attributes,
        };
        sink.push(file, entry);
    }
}
