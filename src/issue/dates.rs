//! Dates as site generators write them: RFC 3339 (Hugo, Zola), a bare date,
//! a space instead of the `T` and an offset without a colon (Jekyll's
//! `2013-06-07 18:46:00 +0900`), and the date in a file name (Jekyll's
//! `2013-06-07-slug.md`, Eleventy's `2021-10-17.md`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use std::path::Path;

/// The date and whether it had a time of day. A date-time without an offset
/// is refused: `send --due` must know when the issue is due.
pub fn parse_date(raw: &str) -> Result<(DateTime<FixedOffset>, bool), &'static str> {
    let raw = raw.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(raw) {
        return Ok((d, true));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok((midnight_utc(d), false));
    }
    let is_date_time = raw
        .get(..10)
        .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        && matches!(raw.as_bytes().get(10), Some(b'T' | b' '));
    if !is_date_time {
        return Err("is not a date");
    }
    // Jekyll and Pelican: `2013-06-07 18:46[:00] +0900`, also with `T` or `Z`.
    let normalised = format!("{}T{}", &raw[..10], raw[11..].trim_start());
    for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"] {
        let squeezed = normalised.replace(" +", "+").replace(" -", "-");
        if let Ok(d) = DateTime::parse_from_str(&squeezed, format) {
            return Ok((d, true));
        }
        if let Some(utc) = squeezed.strip_suffix('Z') {
            if let Ok(d) = DateTime::parse_from_str(&format!("{utc}+00:00"), format) {
                return Ok((d, true));
            }
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if NaiveDateTime::parse_from_str(&normalised, format).is_ok() {
            return Err("has no UTC offset");
        }
    }
    Err("is not a date")
}

fn midnight_utc(d: NaiveDate) -> DateTime<FixedOffset> {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .fixed_offset()
}

/// The file's name as an issue sees it: the folder's name for a page bundle
/// (`issue-52/index.md`), else the file stem.
pub fn issue_stem(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    if stem == "index" || stem == "_index" {
        if let Some(dir) = path.parent().and_then(Path::file_name) {
            return Some(dir.to_string_lossy().into_owned());
        }
    }
    Some(stem)
}

/// `2013-06-07-this-week-in-rust.md` or `2021-10-17.md` → that date (midnight UTC).
pub fn date_from_file_name(path: &Path) -> Option<DateTime<FixedOffset>> {
    let stem = issue_stem(path)?;
    let head = stem.get(..10)?;
    let rest = &stem[10..];
    if !(rest.is_empty() || rest.starts_with(['-', '_', '.'])) {
        return None;
    }
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok().map(midnight_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_with_offset_bare_and_without_offset() {
        let (d, t) = parse_date("2024-06-24T02:15:00+09:00").unwrap();
        assert_eq!(d.to_rfc3339(), "2024-06-24T02:15:00+09:00");
        assert!(t);
        let (d, t) = parse_date("2026-11-30").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-11-30T00:00:00+00:00");
        assert!(!t);
        assert_eq!(parse_date("2024-06-24T02:15:00"), Err("has no UTC offset"));
        assert_eq!(parse_date("2013-06-07 18:46"), Err("has no UTC offset"));
        assert_eq!(parse_date("soon"), Err("is not a date"));
        assert_eq!(parse_date("2026-11-2가T"), Err("is not a date"));
        assert_eq!(parse_date("2026-11-20 tomorrow"), Err("is not a date"));
    }

    #[test]
    fn jekyll_and_pelican_forms() {
        let cases = [
            ("2013-06-07 18:46:00 +0900", "2013-06-07T18:46:00+09:00"),
            ("2013-06-07 18:46 +09:00", "2013-06-07T18:46:00+09:00"),
            ("2013-06-07 18:46:00 -0500", "2013-06-07T18:46:00-05:00"),
            ("2013-06-07T18:46+02:00", "2013-06-07T18:46:00+02:00"),
            ("2013-06-07 18:46:00Z", "2013-06-07T18:46:00+00:00"),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_date(raw).map(|d| d.0.to_rfc3339()), Ok(want.to_string()), "{raw}");
        }
    }

    #[test]
    fn dates_and_ids_from_file_names() {
        let d = |p: &str| date_from_file_name(Path::new(p)).map(|d| d.date_naive().to_string());
        assert_eq!(
            d("_posts/2013-06-07-this-week-in-rust.md").as_deref(),
            Some("2013-06-07")
        );
        assert_eq!(d("issue/2021-10-17.md").as_deref(), Some("2021-10-17"));
        assert_eq!(d("content/2024-06/index.md"), None);
        assert_eq!(d("content/2024-06-01/index.md").as_deref(), Some("2024-06-01"));
        assert_eq!(d("issue-025.md"), None);
        assert_eq!(d("2013-06-07x.md"), None);
        assert_eq!(
            issue_stem(Path::new("content/issue-52/index.md")).as_deref(),
            Some("issue-52")
        );
        assert_eq!(issue_stem(Path::new("issues/2026-w47.md")).as_deref(), Some("2026-w47"));
    }
}
