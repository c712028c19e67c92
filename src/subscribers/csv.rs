//! Streaming CSV reader for subscriber lists: header recognition (the column
//! names of common exports), UTF-8 with or without a BOM, CRLF or LF,
//! RFC 4180 quoting. One record is held at a time.

use super::{RawEntry, Sink};
use crate::diag::Diagnostic;
use anyhow::Context;
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// Where the recognised columns are in a file's header.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub email: usize,
    pub name: Option<usize>,
    pub first: Option<usize>,
    pub last: Option<usize>,
    pub status: Option<usize>,
    /// Every other column, kept as an attribute under its header text.
    pub others: Vec<(usize, Arc<str>)>,
    /// Status for rows of a file without a status column: Mailchimp exports
    /// unsubscribed and cleaned members as separate files with no status
    /// column but an `UNSUB_TIME` / `CLEAN_TIME` column.
    pub default_status: Option<&'static str>,
    pub width: usize,
}

/// Lower-case, without spaces, `_` or `-`: "Email Address" → "emailaddress".
pub(crate) fn canonical(header: &str) -> String {
    header
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The recognised fields a header can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Email,
    Name,
    First,
    Last,
    Status,
}

/// The field a header names, if it is one of the recognised ones.
pub(crate) fn field_of(header: &str) -> Option<Field> {
    Some(match canonical(header).as_str() {
        "email" | "emailaddress" | "mail" => Field::Email,
        "name" | "fullname" | "displayname" => Field::Name,
        "firstname" | "first" | "givenname" | "fname" => Field::First,
        "lastname" | "last" | "surname" | "familyname" | "lname" => Field::Last,
        "status" => Field::Status,
        _ => return None,
    })
}

impl Columns {
    pub fn from_headers(headers: &[&str]) -> Result<Columns, String> {
        let mut c = Columns {
            width: headers.len(),
            ..Columns::default()
        };
        let mut email = None;
        for (i, h) in headers.iter().enumerate() {
            let slot = match field_of(h) {
                Some(Field::Email) => &mut email,
                Some(Field::Name) => &mut c.name,
                Some(Field::First) => &mut c.first,
                Some(Field::Last) => &mut c.last,
                Some(Field::Status) => &mut c.status,
                None => {
                    c.others.push((i, Arc::from(h.trim())));
                    continue;
                }
            };
            if slot.is_some() {
                return Err(format!(
                    "the header has two columns for the same field (column {}: {})",
                    i + 1,
                    super::excerpt(h)
                ));
            }
            *slot = Some(i);
        }
        c.email = email.ok_or_else(|| {
            format!(
                "no email column in the header ({}); expected one named email, \"Email Address\" or E-mail",
                headers.iter().map(|h| super::excerpt(h)).collect::<Vec<_>>().join(", ")
            )
        })?;
        if c.status.is_none() {
            let has = |name: &str| headers.iter().any(|h| canonical(h) == name);
            c.default_status = if has("unsubtime") {
                Some("unsubscribed")
            } else if has("cleantime") {
                Some("cleaned")
            } else {
                None
            };
        }
        Ok(c)
    }

    /// The display name: the name column, else first and last name joined.
    pub fn name<'a>(&self, fields: &[&'a str]) -> Option<Cow<'a, str>> {
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        if let Some(n) = get(self.name) {
            return Some(Cow::Borrowed(n));
        }
        match (get(self.first), get(self.last)) {
            // Korean, Chinese and Japanese names put the family name first, unspaced.
            (Some(f), Some(l)) if is_cjk(f) && is_cjk(l) => Some(Cow::Owned(format!("{l}{f}"))),
            (Some(f), Some(l)) => Some(Cow::Owned(format!("{f} {l}"))),
            (Some(one), None) | (None, Some(one)) => Some(Cow::Borrowed(one)),
            (None, None) => None,
        }
    }

    pub fn status<'a>(&self, fields: &[&'a str]) -> Option<&'a str> {
        match self.status {
            Some(i) => fields.get(i).copied(),
            None => self.default_status,
        }
    }
}

/// Whether `s` is written in Hangul, Han or kana only.
fn is_cjk(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c as u32,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF // Hangul
            | 0x3040..=0x30FF // kana
            | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF) // Han
    })
}

/// A buffered reader positioned after the UTF-8 byte order mark, if any.
pub(crate) fn open_without_bom(path: &Path) -> anyhow::Result<BufReader<impl Read>> {
    let file = crate::files::open(path, crate::files::MAX_CSV_LIST_BYTES)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let buf = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if buf.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(reader)
}

/// Receives the rows of a CSV file, or the problems of rows that could not be read.
pub(crate) trait RowSink {
    fn row(&mut self, line: u64, columns: &Columns, fields: &[&str]);
    fn problem(&mut self, d: Diagnostic);
    /// True to stop reading; checked between rows.
    fn stopped(&self) -> bool {
        false
    }
}

/// Streams `path` into `sink`. Returns Err only when the file cannot be read
/// at all (unreadable, or no usable header).
pub(crate) fn read(path: &Path, sink: &mut dyn RowSink) -> anyhow::Result<()> {
    read_from(path, open_without_bom(path)?, sink)
}

fn read_from(path: &Path, input: impl Read, sink: &mut dyn RowSink) -> anyhow::Result<()> {
    // Records end at LF; the CR of a CRLF stays on the last field and is
    // removed below. (With the default CRLF terminator the csv crate reports
    // each record of a CRLF file on the line before its own.)
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let header = reader.byte_headers().context("cannot read the header row")?.clone();
    let header: Vec<&str> = fields_of(&header)
        .collect::<Result<_, _>>()
        .context("the header row is not valid UTF-8")?;
    if header.iter().all(|h| h.trim().is_empty()) {
        anyhow::bail!("empty file: a header row (email,name,status) is required");
    }
    let columns = Columns::from_headers(&header).map_err(anyhow::Error::msg)?;
    let mut record = ::csv::ByteRecord::new();
    while !sink.stopped() {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line()) as usize;
                sink.problem(Diagnostic::error(path, line, 1, format!("unreadable row: {e}")));
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && matches!(&record[0], b"" | b"\r") {
            continue; // a blank line
        }
        if record.len() != columns.width {
            let msg = format!(
                "this row has {} fields but the header has {}; check the quoting",
                record.len(),
                columns.width
            );
            sink.problem(Diagnostic::error(path, line as usize, 1, msg));
            continue;
        }
        let mut fields: Vec<&str> = Vec::with_capacity(columns.width);
        let mut bad = None;
        for (i, f) in fields_of(&record).enumerate() {
            match f {
                Ok(s) => fields.push(s),
                Err(_) => {
                    bad = Some(i);
                    break;
                }
            }
        }
        if let Some(i) = bad {
            let msg = format!(
                "column {} is not valid UTF-8; save the file as UTF-8",
                super::excerpt(header[i])
            );
            sink.problem(Diagnostic::error(path, line as usize, 1, msg));
            continue;
        }
        sink.row(line, &columns, &fields);
    }
    Ok(())
}

/// The fields of a record as text, without the CR of a CRLF line end.
fn fields_of(record: &::csv::ByteRecord) -> impl Iterator<Item = Result<&str, std::str::Utf8Error>> {
    let last = record.len().saturating_sub(1);
    record.iter().enumerate().map(move |(i, f)| {
        let f = if i == last {
            f.strip_suffix(b"\r").unwrap_or(f)
        } else {
            f
        };
        std::str::from_utf8(f)
    })
}

struct LoadSink<'s, 'o> {
    file: &'s Arc<Path>,
    sink: &'s mut Sink<'o>,
}

impl RowSink for LoadSink<'_, '_> {
    fn row(&mut self, line: u64, columns: &Columns, fields: &[&str]) {
        let name = columns.name(fields);
        let attributes = columns
            .others
            .iter()
            .filter(|(i, _)| !fields[*i].is_empty())
            .map(|(i, key)| (Arc::clone(key), fields[*i].to_string()))
            .collect();
        let entry = RawEntry {
            line,
            email: fields[columns.email],
            name: name.as_deref(),
            status: columns.status(fields),
            attributes,
        };
        self.sink.push(self.file, entry);
    }

    fn problem(&mut self, d: Diagnostic) {
        self.sink.diagnostic(d);
    }

    fn stopped(&self) -> bool {
        self.sink.stopped()
    }
}

/// Loads one CSV subscriber file into `sink`.
pub(crate) fn load(file: &Arc<Path>, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    read(file, &mut LoadSink { file, sink })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_export_headers() {
        let c = Columns::from_headers(&[
            "Email Address",
            "First Name",
            "Last Name",
            "MEMBER_RATING",
            "UNSUB_TIME",
        ])
        .unwrap();
        assert_eq!((c.email, c.first, c.last, c.status), (0, Some(1), Some(2), None));
        assert_eq!(
            c.others.iter().map(|(i, h)| (*i, &**h)).collect::<Vec<_>>(),
            [(3, "MEMBER_RATING"), (4, "UNSUB_TIME")]
        );
        assert_eq!(c.default_status, Some("unsubscribed"));
        let c = Columns::from_headers(&["E-mail", "Full name", "Status"]).unwrap();
        assert_eq!(
            (c.email, c.name, c.status, c.default_status),
            (0, Some(1), Some(2), None)
        );
        let e = Columns::from_headers(&["email", "Email Address"]).unwrap_err();
        assert_eq!(
            e,
            r#"the header has two columns for the same field (column 2: "Email Address")"#
        );
    }

    #[test]
    fn joins_first_and_last_names() {
        let c = Columns::from_headers(&["email", "first_name", "last_name"]).unwrap();
        assert_eq!(c.name(&["", "Ada", "Lovelace"]).as_deref(), Some("Ada Lovelace"));
        assert_eq!(c.name(&["", "민지", "김"]).as_deref(), Some("김민지"));
        assert_eq!(c.name(&["", "Minji", "김"]).as_deref(), Some("Minji 김"));
        assert_eq!(c.name(&["", "", "Lovelace"]).as_deref(), Some("Lovelace"));
        assert_eq!(c.name(&["", " ", ""]), None);
    }
}
