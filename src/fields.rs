//! Fields in the subject and the `[theme]` header and footer: `{title}` and
//! the other issue fields, filled once per issue, and the subscriber's own
//! `{name}`, `{email}` or any other column of the list, filled per recipient,
//! with a fallback for a missing value (`{name|독자}`). `{{` and `}}` write
//! a literal brace. A missing value never shows a raw placeholder: it is the
//! fallback, or nothing.

use crate::issue::Issue;
use std::sync::Arc;

/// The fields an issue fills in.
pub const ISSUE_FIELDS: &[&str] = &["title", "id", "number", "series", "date", "description"];

/// A subscriber field and what to show when a recipient has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    pub name: String,
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Field(FieldRef),
}

/// A parsed template: text and fields in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// A recipient's values for personal fields.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub name: Option<&'a str>,
    pub email: &'a str,
    pub attributes: &'a [(Arc<str>, String)],
}

/// Column names compare ignoring case, spaces, `_` and `-` (as CSV headers do).
pub fn field_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Template {
    /// Parses `{field}`, `{field|fallback}`, `{{` and `}}`.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let after = &rest[i..];
            if after.starts_with("{{") || after.starts_with("}}") {
                text.push_str(&after[..1]);
                rest = &after[2..];
                continue;
            }
            if after.starts_with('}') {
                return Err("unmatched `}` (write `}}` for a literal brace)".into());
            }
            let close = after.find('}').ok_or("unclosed `{` (write `{{` for a literal brace)")?;
            let inner = &after[1..close];
            if inner.contains('{') {
                return Err(format!("`{{` inside the field `{{{inner}}}`"));
            }
            let (name, fallback) = match inner.split_once('|') {
                Some((n, f)) => (n.trim(), Some(f.to_string())),
                None => (inner.trim(), None),
            };
            if name.is_empty() || name.contains(|c: char| c.is_control()) {
                return Err(format!("`{{{inner}}}` does not name a field"));
            }
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Field(FieldRef {
                name: name.to_string(),
                fallback,
            }));
            rest = &after[close + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// Replaces the issue's fields by their values; subscriber fields stay.
    pub fn fill_issue(&self, issue: &Issue) -> Template {
        let parts = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Field(f) => match issue_field(issue, &f.name) {
                    Some(v) => Part::Text(v),
                    None => p.clone(),
                },
                Part::Text(_) => p.clone(),
            })
            .collect();
        Template { parts }
    }

    /// The subscriber fields left, in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldRef> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f),
            Part::Text(_) => None,
        })
    }

    /// The text for one recipient.
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => out.push_str(&value(f, values)),
            }
        }
        out
    }
}

/// A recipient's value of `field`, else its fallback, else nothing; on one line.
pub fn value(field: &FieldRef, v: &Values<'_>) -> String {
    let key = field_key(&field.name);
    let found = match key.as_str() {
        "name" => v.name.map(str::to_string),
        "email" => Some(v.email.to_string()),
        _ => v
            .attributes
            .iter()
            .find(|(k, _)| field_key(k) == key)
            .map(|(_, val)| val.clone()),
    };
    let chosen = found
        .filter(|s| !s.trim().is_empty())
        .or_else(|| field.fallback.clone())
        .unwrap_or_default();
    one_line(&chosen)
}

/// Control characters become spaces, runs of spaces one: a value lands in
/// a header (the subject) or one line of a body.
fn one_line(s: &str) -> String {
    let spaced: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `name` is an issue field, `name`, `email` or one of `columns`.
pub fn is_known(name: &str, columns: &[String]) -> bool {
    let key = field_key(name);
    ISSUE_FIELDS.contains(&key.as_str())
        || key == "name"
        || key == "email"
        || columns.iter().any(|c| field_key(c) == key)
}

fn issue_field(issue: &Issue, field: &str) -> Option<String> {
    let f = &issue.front;
    Some(match field_key(field).as_str() {
        "title" => f.title.clone(),
        "id" => issue.id.clone(),
        "number" => issue.number.map(|n| n.to_string()).unwrap_or_default(),
        "series" => issue.series_name(),
        "date" => f.date.format("%Y-%m-%d").to_string(),
        "description" => f.description.clone().unwrap_or_default(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(name: Option<&'a str>, attrs: &'a [(Arc<str>, String)]) -> Values<'a> {
        Values {
            name,
            email: "a@example.com",
            attributes: attrs,
        }
    }

    #[test]
    fn fields_fallbacks_and_braces() {
        let t = Template::parse("{name|독자}님, {{literal}} {City} {plan|free}").unwrap();
        let attrs = [(Arc::from("city"), "Seoul".to_string())];
        assert_eq!(
            t.render(&values(Some("김민지"), &attrs)),
            "김민지님, {literal} Seoul free"
        );
        assert_eq!(t.render(&values(None, &[])), "독자님, {literal}  free");
        assert_eq!(t.render(&values(Some("  "), &[])), "독자님, {literal}  free");
        let names: Vec<&str> = t.fields().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["name", "City", "plan"]);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            Template::parse("Hi {name").unwrap_err(),
            "unclosed `{` (write `{{` for a literal brace)"
        );
        assert_eq!(
            Template::parse("a } b").unwrap_err(),
            "unmatched `}` (write `}}` for a literal brace)"
        );
        assert_eq!(Template::parse("{ |x}").unwrap_err(), "`{ |x}` does not name a field");
    }

    #[test]
    fn known_fields() {
        let cols = vec!["Company Name".to_string()];
        assert!(is_known("title", &cols));
        assert!(is_known("NAME", &cols));
        assert!(is_known("company_name", &cols));
        assert!(!is_known("city", &cols));
    }

    #[test]
    fn values_stay_on_one_line() {
        let attrs = [(Arc::from("note"), "a\r\nb".to_string())];
        let t = Template::parse("{note}").unwrap();
        assert_eq!(t.render(&values(None, &attrs)), "a b");
    }
}
