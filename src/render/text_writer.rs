//! Issue blocks as plain text wrapped at 72 display columns: list markers
//! with hanging indents, verbatim code, links as `text [n]` with their URLs
//! listed once per section, images as `[alt] url`, tables as aligned columns
//! (or one record per row when the columns would not fit), footnotes as
//! `[^n]`.

use super::text_html;
use super::view::{keep_lines, resolve_url};
use super::wrap::{display_width, wrap_hanging, TEXT_WIDTH};
use crate::i18n::Labels;
use crate::issue::{Align, Block, Inline, Table};
use ammonia::Url;

/// Link numbers run through the whole mail, so `[3]` means one URL everywhere.
#[derive(Default)]
pub struct RefNumbers {
    next: usize,
}

impl RefNumbers {
    /// Numbers that continue after `used` links.
    pub fn after(used: usize) -> Self {
        RefNumbers { next: used }
    }

    /// How many numbers have been given out.
    pub fn used(&self) -> usize {
        self.next
    }
}

pub struct TextWriter<'n> {
    numbers: &'n mut RefNumbers,
    base: Option<&'n Url>,
    labels: &'n Labels,
    pub lines: Vec<String>,
    /// This section's references, listed at its end.
    pub refs: Vec<(usize, String)>,
}

impl<'n> TextWriter<'n> {
    pub fn new(numbers: &'n mut RefNumbers, base: Option<&'n Url>, labels: &'n Labels) -> Self {
        TextWriter {
            numbers,
            base,
            labels,
            lines: Vec::new(),
            refs: Vec::new(),
        }
    }

    pub fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// Blocks separated by blank lines.
    pub fn blocks(&mut self, blocks: &[Block]) {
        for b in blocks {
            self.block(b, "", "");
            self.blank();
        }
    }

    /// Lists this section's `[n] URL` lines and empties the list.
    pub fn flush_refs(&mut self) {
        for (n, url) in std::mem::take(&mut self.refs) {
            self.lines.push(format!("[{n}] {url}"));
        }
    }

    /// `first` prefixes the block's first line (a list marker, possibly), `rest` the others.
    pub fn block(&mut self, block: &Block, first: &str, rest: &str) {
        match block {
            Block::Paragraph(inlines) => {
                let text = self.inlines(inlines);
                self.lines.extend(wrap_hanging(text.trim(), TEXT_WIDTH, first, rest));
            }
            Block::Heading { content, .. } => {
                let text = self.inlines(content);
                let lines = wrap_hanging(text.trim(), TEXT_WIDTH, first, rest);
                let text_width = lines.iter().map(|l| display_width(l)).max().unwrap_or(0);
                let rule = format!(
                    "{rest}{}",
                    "~".repeat(text_width.saturating_sub(display_width(rest)).max(3))
                );
                self.lines.extend(lines);
                self.lines.push(rule);
            }
            Block::List(list) => self.list(list, first, rest),
            Block::CodeBlock { code, .. } => {
                // Verbatim: only the enclosing indent is added, never a wrap.
                self.blank();
                if first.trim() != "" {
                    self.lines.push(first.trim_end().to_string());
                }
                for line in keep_lines(code).trim_end_matches('\n').split('\n') {
                    self.lines.push(format!("{rest}{line}").trim_end().to_string());
                }
                self.blank();
            }
            Block::BlockQuote(inner) => {
                for b in inner {
                    self.block(b, &format!("{first}> "), &format!("{rest}> "));
                }
            }
            Block::Rule => self.lines.push(format!("{first}----")),
            Block::Table(t) => self.table(t, first, rest),
            Block::Html(raw) => {
                let blocks = text_html::to_blocks(raw);
                for (i, b) in blocks.iter().enumerate() {
                    if i > 0 {
                        self.blank();
                    }
                    self.block(b, if i == 0 { first } else { rest }, rest);
                }
            }
        }
    }

    fn list(&mut self, list: &crate::issue::List, first: &str, rest: &str) {
        let last = list.start.map_or(0, |s| s + list.items.len() as u64 - 1);
        let width = last.to_string().len();
        for (i, item) in list.items.iter().enumerate() {
            let marker = match list.start {
                Some(s) => format!("{:>width$}. ", s + i as u64),
                None => "- ".to_string(),
            };
            let lead = if i == 0 { first } else { rest };
            let item_first = format!("{lead}{marker}");
            let item_rest = format!("{rest}{}", " ".repeat(marker.len()));
            for (j, b) in item.iter().enumerate() {
                let f = if j == 0 { &item_first } else { &item_rest };
                self.block(b, f, &item_rest);
            }
        }
    }

    /// Aligned columns when they fit in 72 columns, else one record per row.
    fn table(&mut self, t: &Table, first: &str, rest: &str) {
        let mut cell = |c: &[Inline]| self.inlines(c).split_whitespace().collect::<Vec<_>>().join(" ");
        let head: Vec<String> = t.head.iter().map(|c| cell(c)).collect();
        let rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        let columns = rows.iter().map(Vec::len).chain([head.len()]).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in std::iter::once(&head).chain(&rows) {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(display_width(c));
            }
        }
        let total = display_width(rest) + widths.iter().sum::<usize>() + 3 * columns.saturating_sub(1);
        if total <= TEXT_WIDTH {
            let align = |i: usize| t.aligns.get(i).copied().unwrap_or(Align::None);
            let line = |row: &[String]| {
                let cells: Vec<String> = (0..columns)
                    .map(|i| pad(row.get(i).map_or("", String::as_str), widths[i], align(i)))
                    .collect();
                cells.join(" | ").trim_end().to_string()
            };
            self.lines.push(format!("{first}{}", line(&head)));
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat((*w).max(1))).collect();
            self.lines.push(format!("{rest}{}", rule.join("-+-")));
            for row in &rows {
                self.lines.push(format!("{rest}{}", line(row)));
            }
            return;
        }
        let inner = format!("{rest}  ");
        for (r, row) in rows.iter().enumerate() {
            for (i, value) in row.iter().enumerate() {
                let label = head.get(i).filter(|h| !h.is_empty());
                let text = match label {
                    Some(h) => format!("{h}: {value}"),
                    None => value.clone(),
                };
                let lead = match (r, i) {
                    (0, 0) => format!("{first}- "),
                    (_, 0) => format!("{rest}- "),
                    _ => inner.clone(),
                };
                let hang = if i == 0 { inner.clone() } else { format!("{inner}  ") };
                self.lines.extend(wrap_hanging(&text, TEXT_WIDTH, &lead, &hang));
            }
        }
    }

    /// Inline text; `\n` marks hard breaks. Links become `text [n]` unless bare.
    pub fn inlines(&mut self, inlines: &[Inline]) -> String {
        let mut out = String::new();
        for inline in inlines {
            self.inline(&mut out, inline);
        }
        out
    }

    fn inline(&mut self, out: &mut String, inline: &Inline) {
        match inline {
            Inline::Text(t) => out.push_str(&one_line_keep_spaces(t)),
            Inline::Code(c) => {
                out.push('`');
                out.push_str(&one_line_keep_spaces(c));
                out.push('`');
            }
            Inline::Emphasis(c) => self.around(out, "_", c),
            Inline::Strong(c) => self.around(out, "*", c),
            Inline::Strikethrough(c) => self.around(out, "~", c),
            Inline::Link { url, content } => self.link(out, url, content),
            Inline::LineBreak => out.push('\n'),
            Inline::Image { url, alt, .. } => {
                let alt = if alt.trim().is_empty() { &self.labels.image } else { alt };
                out.push_str(&format!("[{}]", one_line_keep_spaces(alt)));
                if let Some(src) = resolve_url(self.base, url) {
                    out.push(' ');
                    out.push_str(&src);
                }
            }
            Inline::Html(_) => {}
            Inline::FootnoteRef(n) => out.push_str(&format!("[^{n}]")),
            Inline::Task(done) => out.push_str(if *done { "[x] " } else { "[ ] " }),
        }
    }

    fn link(&mut self, out: &mut String, url: &str, content: &[Inline]) {
        let text = self.inlines(content);
        let Some(url) = resolve_url(self.base, url) else {
            out.push_str(&text);
            return;
        };
        // A linked image whose link is the image itself: `[alt] url` says it all.
        let image_itself = matches!(content, [Inline::Image { url: src, .. }] if resolve_url(self.base, src).as_deref() == Some(url.as_str()));
        let t = text.trim();
        if image_itself || t == url || url.strip_prefix("mailto:") == Some(t) {
            out.push_str(&text);
        } else if t.is_empty() {
            out.push_str(&url);
        } else {
            out.push_str(&text);
            out.push_str(&format!(" [{}]", self.number(&url)));
        }
    }

    fn around(&mut self, out: &mut String, mark: &str, content: &[Inline]) {
        out.push_str(mark);
        out.push_str(&self.inlines(content));
        out.push_str(mark);
    }

    fn number(&mut self, url: &str) -> usize {
        if let Some((n, _)) = self.refs.iter().find(|(_, u)| u == url) {
            return *n;
        }
        self.numbers.next += 1;
        self.refs.push((self.numbers.next, url.to_string()));
        self.numbers.next
    }
}

/// `s` padded to `width` display columns, placed as `align` says.
fn pad(s: &str, width: usize, align: Align) -> String {
    let gap = width.saturating_sub(display_width(s));
    match align {
        Align::Right => format!("{}{s}", " ".repeat(gap)),
        Align::Center => format!("{}{s}{}", " ".repeat(gap / 2), " ".repeat(gap - gap / 2)),
        Align::None | Align::Left => format!("{s}{}", " ".repeat(gap)),
    }
}

/// Control characters (CR/LF in a title, say) become spaces; spacing is kept.
fn one_line_keep_spaces(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{labels, Language};

    fn t(s: &str) -> Vec<Inline> {
        vec![Inline::Text(s.into())]
    }

    fn render(block: &Block) -> Vec<String> {
        let l = labels(Language::En);
        let mut n = RefNumbers::default();
        let mut w = TextWriter::new(&mut n, None, &l);
        w.block(block, "", "");
        w.lines
    }

    #[test]
    fn narrow_tables_are_aligned() {
        let table = Block::Table(Table {
            aligns: vec![Align::None, Align::Right, Align::Center],
            head: vec![t("crate"), t("n"), t("ok")],
            rows: vec![vec![t("serde"), t("12"), t("✅")], vec![t("한국어"), t("3"), t("❌")]],
        });
        assert_eq!(
            render(&table),
            [
                "crate  |  n | ok",
                "-------+----+---",
                "serde  | 12 | ✅",
                "한국어 |  3 | ❌"
            ]
        );
    }

    #[test]
    fn wide_tables_become_records_within_72_columns() {
        let long = "a fairly long cell text that goes on ".repeat(2);
        let table = Block::Table(Table {
            aligns: vec![],
            head: vec![t("Name"), t("Notes")],
            rows: vec![vec![t("one"), t(&long)], vec![t("two"), t("short")]],
        });
        let lines = render(&table);
        assert_eq!(lines[0], "- Name: one");
        assert!(lines[1].starts_with("  Notes: a fairly long"), "{lines:#?}");
        assert!(lines.iter().all(|l| display_width(l) <= 72), "{lines:#?}");
        assert!(lines.contains(&"- Name: two".to_string()), "{lines:#?}");
    }

    #[test]
    fn images_footnotes_and_tasks() {
        let p = Block::Paragraph(vec![
            Inline::Task(false),
            Inline::Image {
                url: "https://e.example/a.png".into(),
                alt: "A chart".into(),
                title: None,
                width: None,
                height: None,
            },
            Inline::Text(" and ".into()),
            Inline::Image {
                url: "relative.png".into(),
                alt: String::new(),
                title: None,
                width: None,
                height: None,
            },
            Inline::FootnoteRef(2),
        ]);
        assert_eq!(render(&p), ["[ ] [A chart] https://e.example/a.png and [image][^2]"]);
    }
}
