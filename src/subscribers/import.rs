//! `subscribers import`: normalise a CSV export from another tool (Mailchimp,
//! listmonk, …) into `subscribers/<name>.csv` with the columns
//! email,name,status followed by attribute columns.
//!
//! Decisions: rows with an invalid address, an unsafe name or an unknown
//! status are skipped; so are duplicates (within the file, first wins) and
//! addresses already in the subscribers folder. Unsubscribed, cleaned and
//! other inactive rows are kept with their status, so that the list remembers
//! them and they stay unmailed. Every skip is reported with its line.

use super::csv::{canonical, field_of, Columns, RowSink};
use super::{validate_email, validate_name, Status};
use crate::address::key as address_key;
use crate::diag::Diagnostic;
use anyhow::{bail, Context};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    pub output: PathBuf,
    /// Rows written, by status word.
    pub written: BTreeMap<&'static str, usize>,
    /// One warning per skipped row, naming the input line and the reason.
    pub skipped: Vec<Diagnostic>,
    /// Remarks about the whole file (e.g. no status column).
    pub notes: Vec<String>,
}

impl ImportReport {
    pub fn total_written(&self) -> usize {
        self.written.values().sum()
    }
}

/// The output file name: `--name` (".csv" added when missing) or `imported-<stem>.csv`.
fn output_name(input: &Path, name: Option<&str>) -> anyhow::Result<String> {
    let name = match name {
        Some(n) => n.trim().to_string(),
        None => {
            let stem = input.file_stem().and_then(|s| s.to_str()).unwrap_or("list");
            format!("imported-{stem}")
        }
    };
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) || name.contains(char::is_control) {
        bail!("--name {name:?}: give a plain file name, without a folder");
    }
    Ok(if name.to_ascii_lowercase().ends_with(".csv") {
        name
    } else {
        format!("{name}.csv")
    })
}

/// Imports `input` into a new file in `subscribers_dir`. Refuses to
/// overwrite an existing file.
pub fn import(input: &Path, subscribers_dir: &Path, name: Option<&str>) -> anyhow::Result<ImportReport> {
    let output = subscribers_dir.join(output_name(input, name)?);
    if output.exists() {
        bail!(
            "{} already exists; choose another --name or remove it first",
            output.display()
        );
    }
    // Addresses already on the list, so the import does not create duplicates.
    let mut existing: HashMap<String, String> = HashMap::new();
    if subscribers_dir.is_dir() {
        for s in super::load(subscribers_dir).all {
            existing.insert(s.key(), format!("{}:{}", s.file.display(), s.line));
        }
    }

    let mut keys = JsonKeys::default();
    super::csv::read(input, &mut keys).with_context(|| format!("{}", input.display()))?;

    std::fs::create_dir_all(subscribers_dir).with_context(|| format!("cannot create {}", subscribers_dir.display()))?;
    let tmp = subscribers_dir.join(format!(".{}.tmp", output.file_name().unwrap().to_string_lossy()));
    // The list holds addresses: owner-only, like everything else we write.
    let file = crate::files::create_private(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let writer = ::csv::Writer::from_writer(file);
    let mut sink = WriteSink {
        input,
        writer,
        json_keys: keys.keys,
        header: None,
        seen: existing,
        report: ImportReport {
            output: output.clone(),
            written: BTreeMap::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        },
        error: None,
    };
    let read = super::csv::read(input, &mut sink);
    let finish = read
        .and_then(|()| sink.error.take().map_or(Ok(()), Err))
        .and_then(|()| {
            sink.write_header_if_needed()?;
            sink.writer.flush()?;
            Ok(())
        });
    if let Err(e) = finish {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("importing {}", input.display())));
    }
    drop(sink.writer);
    std::fs::rename(&tmp, &output).with_context(|| format!("cannot write {}", output.display()))?;
    Ok(sink.report)
}

/// First pass: the keys of a listmonk-style `attributes` JSON column, in
/// first-seen order, so the output can have one column per key.
#[derive(Default)]
struct JsonKeys {
    keys: Vec<String>,
}

fn json_column(columns: &Columns) -> Option<usize> {
    columns
        .others
        .iter()
        .find(|(_, h)| canonical(h) == "attributes")
        .map(|(i, _)| *i)
}

impl RowSink for JsonKeys {
    fn row(&mut self, _line: u64, columns: &Columns, fields: &[&str]) {
        let Some(i) = json_column(columns) else {
            return;
        };
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(fields[i]) {
            for k in map.keys() {
                if !self.keys.contains(k) {
                    self.keys.push(k.clone());
                }
            }
        }
    }
    fn problem(&mut self, _d: Diagnostic) {}
}

struct WriteSink<'a> {
    input: &'a Path,
    writer: ::csv::Writer<std::fs::File>,
    json_keys: Vec<String>,
    /// Attribute column names, fixed by the first row.
    header: Option<Vec<String>>,
    /// Lower-cased address → where it was first seen.
    seen: HashMap<String, String>,
    report: ImportReport,
    error: Option<anyhow::Error>,
}

/// An attribute name that would be read back as email/name/status is
/// prefixed so that it stays an attribute.
fn attribute_header(name: &str) -> String {
    if field_of(name).is_some() || canonical(name) == "attributes" {
        format!("attr_{name}")
    } else {
        name.to_string()
    }
}

impl WriteSink<'_> {
    fn attribute_names(&self, columns: &Columns) -> Vec<String> {
        let json = json_column(columns);
        let mut names: Vec<String> = columns
            .others
            .iter()
            .filter(|(i, _)| Some(*i) != json)
            .map(|(_, h)| attribute_header(h))
            .collect();
        for k in &self.json_keys {
            let h = attribute_header(k);
            if !names.contains(&h) {
                names.push(h);
            }
        }
        names
    }

    fn write_header_if_needed(&mut self) -> anyhow::Result<()> {
        if self.header.is_none() {
            // No rows: still write a valid, empty list.
            self.writer.write_record(["email", "name", "status"])?;
            self.header = Some(Vec::new());
        }
        Ok(())
    }

    /// Reports a skipped row; the import goes on.
    fn skip(&mut self, line: u64, reason: String) -> anyhow::Result<()> {
        let d = Diagnostic::warning(self.input, line as usize, 1, format!("skipped: {reason}"));
        self.report.skipped.push(d);
        Ok(())
    }

    fn write(&mut self, line: u64, columns: &Columns, fields: &[&str]) -> anyhow::Result<()> {
        if self.header.is_none() {
            let names = self.attribute_names(columns);
            let mut record = vec!["email".to_string(), "name".into(), "status".into()];
            record.extend(names.iter().cloned());
            self.writer.write_record(&record)?;
            if columns.status.is_none() {
                let note = match columns.default_status {
                    Some(s) => format!(
                        "no status column; rows are marked {s} (the file has Mailchimp's {} column)",
                        if s == "cleaned" { "CLEAN_TIME" } else { "UNSUB_TIME" }
                    ),
                    None => "no status column; every row is imported as subscribed".to_string(),
                };
                self.report.notes.push(note);
            }
            self.header = Some(names);
        }
        let email = match validate_email(fields[columns.email]) {
            Ok(e) => e,
            Err(msg) => return self.skip(line, msg),
        };
        let name = match validate_name(columns.name(fields).as_deref().unwrap_or("")) {
            Ok(n) => n,
            Err(msg) => return self.skip(line, msg),
        };
        let raw_status = columns.status(fields).unwrap_or("");
        let Some(status) = Status::parse(raw_status) else {
            return self.skip(line, format!("unknown status {raw_status:?}"));
        };
        let key = address_key(&email);
        if let Some(first) = self.seen.get(&key) {
            return self.skip(line, format!("duplicate address {email:?} (first at {first})"));
        }
        self.seen.insert(key, format!("{}:{line}", self.input.display()));

        let names = self.header.as_ref().expect("header written");
        let mut values = vec![String::new(); names.len()];
        let json = json_column(columns);
        for (pos, (i, _)) in columns.others.iter().filter(|(i, _)| Some(*i) != json).enumerate() {
            values[pos] = fields[*i].to_string();
        }
        if let Some(i) = json.filter(|&i| !fields[i].trim().is_empty()) {
            match serde_json::from_str::<serde_json::Value>(fields[i]) {
                Ok(serde_json::Value::Object(map)) => {
                    for (k, v) in map {
                        let h = attribute_header(&k);
                        if let Some(pos) = names.iter().position(|n| *n == h) {
                            if values[pos].is_empty() {
                                values[pos] = match v {
                                    serde_json::Value::String(s) => s,
                                    serde_json::Value::Null => String::new(),
                                    other => other.to_string(),
                                };
                            }
                        }
                    }
                }
                _ => {
                    let d = Diagnostic::warning(
                        self.input,
                        line as usize,
                        1,
                        "attributes is not a JSON object; its value was dropped",
                    );
                    self.report.skipped.push(d);
                }
            }
        }
        let mut record = vec![email, name.unwrap_or_default(), status.as_str().to_string()];
        record.extend(values);
        self.writer.write_record(&record)?;
        *self.report.written.entry(status.as_str()).or_default() += 1;
        Ok(())
    }
}

impl RowSink for WriteSink<'_> {
    fn row(&mut self, line: u64, columns: &Columns, fields: &[&str]) {
        if self.error.is_none() {
            if let Err(e) = self.write(line, columns, fields) {
                self.error = Some(e);
            }
        }
    }

    fn problem(&mut self, d: Diagnostic) {
        let msg = format!("skipped: {}", d.message);
        self.report
            .skipped
            .push(Diagnostic::warning(&d.path, d.line, d.col, msg));
    }
}
