//! Front matter keys across site generators, mapped onto one set of names:
//! keys are case-insensitive (Hugo lower-cases them, Eleventy posts write
//! `Title`), Zola keeps taxonomies in `[taxonomies]` and custom values in
//! `[extra]`, Hugo in `[params]` (and its `summary` is a description), and
//! Jekyll's `published: false` means draft.

use toml::{Table, Value};

/// Lower-cases the top-level keys and lifts the nested tables.
/// Returns the table, the custom values of `[extra]`/`[params]` (kept for
/// templates), and the keys that repeat another one but for case, as
/// (first, repeat) in the spelling of the file.
pub fn normalise(table: Table) -> (Table, Table, Vec<(String, String)>) {
    let mut out = Table::new();
    let mut spelled: Vec<(String, String)> = Vec::new();
    let mut duplicates = Vec::new();
    for (key, value) in table {
        let lower = key.to_lowercase();
        if let Some((_, first)) = spelled.iter().find(|(l, _)| *l == lower) {
            duplicates.push((first.clone(), key));
            continue;
        }
        spelled.push((lower.clone(), key));
        out.insert(lower, value);
    }
    let mut extra = Table::new();
    for nested in ["taxonomies", "extra", "params"] {
        let Some(Value::Table(inner)) = out.get(nested).cloned() else {
            continue;
        };
        out.remove(nested);
        for (key, value) in inner {
            let lower = key.to_lowercase();
            let lifted = matches!(lower.as_str(), "tags" | "categories" | "series" | "authors");
            if (nested == "taxonomies" || lifted) && !out.contains_key(&lower) {
                out.insert(lower, value);
            } else {
                extra.entry(lower).or_insert(value);
            }
        }
    }
    if !out.contains_key("date") {
        for alias in ["publishdate", "pubdate"] {
            if let Some(v) = out.remove(alias) {
                out.insert("date".into(), v);
                break;
            }
        }
    }
    // Hugo's `summary` is the preview line when there is no `description`.
    if !out.contains_key("description") {
        if let Some(v @ Value::String(_)) = out.remove("summary") {
            out.insert("description".into(), v);
        }
    }
    if let Some(Value::Boolean(false)) = out.get("published") {
        out.remove("published");
        out.entry("draft").or_insert(Value::Boolean(true));
    }
    (out, extra, duplicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml: &str) -> Table {
        toml.parse().unwrap()
    }

    #[test]
    fn keys_are_case_insensitive() {
        let (t, _, dup) = normalise(table("Title = \"a\"\nDATE = 2024-01-01\nIssue = 2\n"));
        assert_eq!(t["title"].as_str(), Some("a"));
        assert!(t.contains_key("date") && t.contains_key("issue"));
        assert!(dup.is_empty());
        let (_, _, dup) = normalise(table("Title = \"a\"\ntitle = \"b\"\n"));
        assert_eq!(dup, [("Title".to_string(), "title".to_string())]);
    }

    #[test]
    fn zola_extra_and_taxonomies() {
        let src =
            "title = \"t\"\n[taxonomies]\ntags = [\"os\"]\n[extra]\nmonth = \"June 2024\"\nauthors = [\"phil-opp\"]\n";
        let (t, extra, _) = normalise(table(src));
        assert_eq!(t["tags"].as_array().unwrap()[0].as_str(), Some("os"));
        assert_eq!(t["authors"].as_array().unwrap()[0].as_str(), Some("phil-opp"));
        assert_eq!(extra["month"].as_str(), Some("June 2024"));
        assert!(!t.contains_key("extra"));
    }

    #[test]
    fn hugo_dates_and_jekyll_published() {
        let (t, _, _) = normalise(table("publishDate = 2024-01-01\npublished = false\n"));
        assert!(t.contains_key("date"));
        assert_eq!(t["draft"].as_bool(), Some(true));
    }
}
