//! Per-recipient filling: the bodies are rendered once with sentinel
//! placeholders, split at them into static pieces, and each recipient's
//! values are spliced in. No template, parse or CSS work per recipient.

use anyhow::{bail, Result};

/// The sentinels a template writes where personal values go. The nonce is
/// random per issue, so issue text cannot forge one.
#[derive(Debug, Clone)]
pub struct Slots {
    prefix: String,
}

/// A personal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// "Name <email>" or the bare address.
    Recipient,
    /// The recipient's one-click unsubscribe URL.
    UnsubscribeUrl,
    /// Personal field N of the field list (`{name|fallback}` in the
    /// subject or the theme's header and footer).
    Field(usize),
    /// A snippet of the text body rendered per recipient (it holds fields,
    /// and its lines are wrapped once the values are known).
    Snippet(usize),
}

/// Which recipients a static piece is for: regions of the template that
/// depend on whether the recipient has an unsubscribe URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    WithUnsubscribeUrl,
    WithoutUnsubscribeUrl,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Static(String),
    Value(Slot),
}

/// A body split at its sentinels.
#[derive(Debug, Clone, Default)]
pub struct Segments {
    pieces: Vec<(When, Piece)>,
}

impl Slots {
    pub fn new() -> Self {
        Slots {
            prefix: format!("@@nl{:016x}", rand::random::<u64>()),
        }
    }

    fn mark(&self, name: &str) -> String {
        format!("{}-{name}@@", self.prefix)
    }
    pub fn recipient(&self) -> String {
        self.mark("recipient")
    }
    pub fn unsubscribe_url(&self) -> String {
        self.mark("unsubscribe-url")
    }
    /// Opens a region shown only to recipients with an unsubscribe URL.
    pub fn if_url(&self) -> String {
        self.mark("if-url")
    }
    /// Opens a region shown only to recipients without one.
    pub fn if_no_url(&self) -> String {
        self.mark("if-no-url")
    }
    pub fn end(&self) -> String {
        self.mark("end")
    }
    pub fn field(&self, n: usize) -> String {
        self.mark(&format!("field-{n}"))
    }
    pub fn snippet(&self, n: usize) -> String {
        self.mark(&format!("snippet-{n}"))
    }

    /// Whether `s` holds a field marker.
    pub fn has_field(&self, s: &str) -> bool {
        s.contains(&format!("{}-field-", self.prefix))
    }

    /// `s` with each field marker replaced by `value(n)`.
    pub fn fill_fields(&self, s: &str, value: &dyn Fn(usize) -> String) -> String {
        let open = format!("{}-field-", self.prefix);
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find(&open) {
            out.push_str(&rest[..at]);
            let after = &rest[at + open.len()..];
            match after
                .split_once("@@")
                .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)))
            {
                Some((n, tail)) => {
                    out.push_str(&value(n));
                    rest = tail;
                }
                None => {
                    out.push_str(&open);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Splits a rendered body at the sentinels.
    pub fn split(&self, body: &str) -> Result<Segments> {
        let mut pieces = Vec::new();
        let mut when = When::Always;
        let mut rest = body;
        while let Some(at) = rest.find(&self.prefix) {
            if at > 0 {
                pieces.push((when, Piece::Static(rest[..at].to_string())));
            }
            let after = &rest[at + self.prefix.len()..];
            let Some(name_end) = after.find("@@") else {
                bail!("unterminated placeholder in rendered body");
            };
            match &after[..name_end] {
                "-recipient" => pieces.push((when, Piece::Value(Slot::Recipient))),
                "-unsubscribe-url" => pieces.push((when, Piece::Value(Slot::UnsubscribeUrl))),
                other if other.starts_with("-field-") => match other["-field-".len()..].parse() {
                    Ok(n) => pieces.push((when, Piece::Value(Slot::Field(n)))),
                    Err(_) => bail!("misplaced placeholder {other:?} in rendered body"),
                },
                other if other.starts_with("-snippet-") => match other["-snippet-".len()..].parse() {
                    Ok(n) => pieces.push((when, Piece::Value(Slot::Snippet(n)))),
                    Err(_) => bail!("misplaced placeholder {other:?} in rendered body"),
                },
                "-if-url" if when == When::Always => when = When::WithUnsubscribeUrl,
                "-if-no-url" if when == When::Always => when = When::WithoutUnsubscribeUrl,
                "-end" if when != When::Always => when = When::Always,
                other => bail!("misplaced placeholder {other:?} in rendered body"),
            }
            rest = &after[name_end + 2..];
        }
        if when != When::Always {
            bail!("unclosed placeholder region in rendered body");
        }
        if !rest.is_empty() {
            pieces.push((when, Piece::Static(rest.to_string())));
        }
        Ok(Segments { pieces })
    }
}

impl Default for Slots {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a piece for `when` is part of a recipient's body.
fn shown(when: When, has_url: bool) -> bool {
    match when {
        When::Always => true,
        When::WithUnsubscribeUrl => has_url,
        When::WithoutUnsubscribeUrl => !has_url,
    }
}

impl Segments {
    /// Appends the body for one recipient; `value` gives each slot's text,
    /// already escaped for the body's format.
    pub fn write(&self, out: &mut String, has_url: bool, value: impl Fn(Slot, &mut String)) {
        self.write_from(0, out, has_url, value);
    }

    /// Appends the body for one recipient without its [`Self::common_prefix`]:
    /// what follows the part every recipient shares.
    pub fn write_rest(&self, out: &mut String, has_url: bool, value: impl Fn(Slot, &mut String)) {
        let skip = usize::from(!self.common_prefix().is_empty());
        self.write_from(skip, out, has_url, value);
    }

    fn write_from(&self, first: usize, out: &mut String, has_url: bool, value: impl Fn(Slot, &mut String)) {
        for (when, piece) in &self.pieces[first..] {
            if shown(*when, has_url) {
                match piece {
                    Piece::Static(s) => out.push_str(s),
                    Piece::Value(slot) => value(*slot, out),
                }
            }
        }
    }

    /// The leading text every recipient's body starts with (empty when the
    /// body opens with a personal part), so senders can encode it once.
    pub fn common_prefix(&self) -> &str {
        match self.pieces.first() {
            Some((When::Always, Piece::Static(s))) => s,
            _ => "",
        }
    }

    /// Bytes of static text shown to a recipient (with or without a URL).
    pub fn static_len(&self, has_url: bool) -> usize {
        self.pieces
            .iter()
            .map(|(when, piece)| match piece {
                Piece::Static(s) if shown(*when, has_url) => s.len(),
                _ => 0,
            })
            .sum()
    }

    pub fn count(&self, slot: Slot) -> usize {
        self.pieces.iter().filter(|(_, p)| *p == Piece::Value(slot)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_fill() {
        let s = Slots::new();
        let body = format!(
            "<p>To {r}</p>{iu}<a href=\"{u}\">x</a>{e}{inu}reply{e}!{f}",
            r = s.recipient(),
            u = s.unsubscribe_url(),
            iu = s.if_url(),
            inu = s.if_no_url(),
            e = s.end(),
            f = s.field(3)
        );
        let seg = s.split(&body).unwrap();
        let fill = |has_url| {
            let mut out = String::new();
            seg.write(&mut out, has_url, |slot, out| {
                out.push_str(match slot {
                    Slot::Recipient => "A",
                    Slot::UnsubscribeUrl => "U",
                    Slot::Field(_) => "F",
                    Slot::Snippet(_) => "S",
                })
            });
            out
        };
        assert_eq!(fill(true), "<p>To A</p><a href=\"U\">x</a>!F");
        assert_eq!(fill(false), "<p>To A</p>reply!F");
    }

    #[test]
    fn field_markers_are_filled_in_text() {
        let s = Slots::new();
        let text = format!("Hi {}, from {}!", s.field(0), s.field(12));
        assert!(s.has_field(&text));
        assert_eq!(s.fill_fields(&text, &|n| format!("<{n}>")), "Hi <0>, from <12>!");
        assert!(!s.has_field("Hi"));
    }

    #[test]
    fn forged_or_unbalanced_markers_fail() {
        let s = Slots::new();
        assert!(s.split(&format!("{}x", s.if_url())).is_err());
        assert!(s.split(&format!("{}-bogus@@", s.prefix)).is_err());
        // A sentinel with another nonce is plain text.
        let other = Slots::new();
        let seg = s.split(&other.recipient()).unwrap();
        assert_eq!(seg.count(Slot::Recipient), 0);
    }

    #[test]
    fn the_rest_follows_the_common_prefix_and_static_len_counts_what_is_shown() {
        let s = Slots::new();
        let body = format!(
            "head {}{}url{}{}none{} tail {}",
            s.recipient(),
            s.if_url(),
            s.end(),
            s.if_no_url(),
            s.end(),
            s.field(0)
        );
        let seg = s.split(&body).unwrap();
        assert_eq!(seg.common_prefix(), "head ");
        for has_url in [true, false] {
            let value = |_: Slot, out: &mut String| out.push('V');
            let (mut whole, mut rest) = (String::new(), String::new());
            seg.write(&mut whole, has_url, value);
            seg.write_rest(&mut rest, has_url, value);
            assert_eq!(format!("{}{rest}", seg.common_prefix()), whole);
            assert_eq!(seg.static_len(has_url), whole.len() - 2, "two one-byte values");
        }
        // A body that opens with a personal part has no common prefix: the rest is all of it.
        let seg = s.split(&format!("{} x", s.recipient())).unwrap();
        let mut rest = String::new();
        seg.write_rest(&mut rest, true, |_, out| out.push('V'));
        assert_eq!((seg.common_prefix(), rest.as_str()), ("", "V x"));
    }
}
