//! `[theme]` and `[theme.labels]`: the look of the mail without recompiling.
//! Values are checked when the config is read (a colour that is not a colour
//! is a config error); whether text and links are readable on the background
//! (WCAG AA contrast) is judged by `newsletter check` ([`contrast_problems`]).

use super::{Config, Errors, Language};
use crate::diag::{line_col, Diagnostic};
use crate::i18n::LABEL_KEYS;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    accent_color: Option<Spanned<String>>,
    link_color: Option<Spanned<String>>,
    text_color: Option<Spanned<String>>,
    muted_color: Option<Spanned<String>>,
    background_color: Option<Spanned<String>>,
    dark_link_color: Option<Spanned<String>>,
    logo_url: Option<Spanned<String>>,
    logo_width: Option<Spanned<i64>>,
    logo_height: Option<Spanned<i64>>,
    logo_alt: Option<Spanned<String>>,
    font_family: Option<Spanned<String>>,
    header: Option<Spanned<String>>,
    footer: Option<Spanned<String>>,
    toc: Option<bool>,
    labels: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
}

/// An sRGB colour, written back as `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub [u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub url: String,
    pub width: u32,
    pub height: Option<u32>,
    pub alt: Option<String>,
}

/// A markdown snippet of the config and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub accent_color: Color,
    pub link_color: Color,
    pub text_color: Color,
    pub muted_color: Color,
    pub background_color: Color,
    /// Links in dark mode, on [`DARK_BACKGROUND`].
    pub dark_link_color: Color,
    pub logo: Option<Logo>,
    /// A CSS font stack; only font names, spaces, commas, `'` and `-`.
    pub font_family: String,
    pub header: Option<Snippet>,
    pub footer: Option<Snippet>,
    pub toc: bool,
    /// `[theme.labels]` overrides, keys checked against `i18n::LABEL_KEYS`.
    pub labels: Vec<(String, String)>,
    /// Line of each colour key that was set, for `check`.
    pub lines: BTreeMap<&'static str, usize>,
}

/// The mail's column in dark mode (fixed: clients pick dark mode, not the author).
pub const DARK_BACKGROUND: Color = Color([0x1a, 0x1d, 0x23]);

/// WCAG 2 AA for normal-size text.
pub const MIN_CONTRAST: f64 = 4.5;

pub const DEFAULT_FONTS: &str = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Apple SD Gothic Neo', 'Malgun Gothic', '맑은 고딕', 'Noto Sans KR', 'Noto Sans CJK KR', 'Nanum Gothic', 'Helvetica Neue', Arial, sans-serif";

impl Default for Theme {
    fn default() -> Self {
        Theme {
            accent_color: Color([0x93, 0xc5, 0xfd]),
            link_color: Color([0x1d, 0x4e, 0xd8]),
            text_color: Color([0x1f, 0x23, 0x28]),
            muted_color: Color([0x6b, 0x72, 0x80]),
            background_color: Color([0xff, 0xff, 0xff]),
            dark_link_color: Color([0x93, 0xc5, 0xfd]),
            logo: None,
            font_family: DEFAULT_FONTS.to_string(),
            header: None,
            footer: None,
            toc: true,
            labels: Vec::new(),
            lines: BTreeMap::new(),
        }
    }
}

impl Color {
    /// `#rgb` or `#rrggbb`, any case.
    pub fn parse(s: &str) -> Option<Color> {
        let hex = s.trim().strip_prefix('#')?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let digits: Vec<u8> = hex.chars().map(|c| c.to_digit(16).expect("hex") as u8).collect();
        match digits[..] {
            [r, g, b] => Some(Color([r * 17, g * 17, b * 17])),
            [r1, r2, g1, g2, b1, b2] => Some(Color([r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2])),
            _ => None,
        }
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    /// WCAG 2 relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0[0]) + 0.7152 * channel(self.0[1]) + 0.0722 * channel(self.0[2])
    }

    /// WCAG 2 contrast ratio, 1 to 21.
    pub fn contrast(self, other: Color) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

/// Reads `[theme]` into `errors` (the spans of its values point into `text`).
pub(crate) fn parse(raw: Option<RawTheme>, text: &str, errors: &mut Errors<'_>) -> Theme {
    let path = errors.path;
    let mut err = |span: Range<usize>, msg: String| {
        let (line, col) = line_col(text, span.start);
        errors.list.push(Diagnostic::error(path, line, col, msg));
    };
    validate(raw, text, &mut err)
}

impl Config {
    /// The language `[newsletter] language` sets for the mail's labels, or
    /// None when it is not written (each issue's own language is used).
    pub fn mail_language(&self) -> Option<Language> {
        (self.spans.key("newsletter.language") != (0, 0)).then_some(self.newsletter.language)
    }
}

/// Reads `[theme]`; `err` records a config error at a byte range of `text`.
fn validate(raw: Option<RawTheme>, text: &str, err: &mut dyn FnMut(Range<usize>, String)) -> Theme {
    let raw = raw.unwrap_or_default();
    let mut theme = Theme::default();
    let mut color = |key: &'static str, value: &Option<Spanned<String>>, slot: &mut Color| {
        let Some(v) = value else { return };
        match Color::parse(v.get_ref()) {
            Some(c) => *slot = c,
            None => err(
                v.span(),
                format!(
                    "[theme] {key}: \"{}\" is not a colour: write #rgb or #rrggbb",
                    v.get_ref()
                ),
            ),
        }
    };
    color("accent_color", &raw.accent_color, &mut theme.accent_color);
    color("link_color", &raw.link_color, &mut theme.link_color);
    color("text_color", &raw.text_color, &mut theme.text_color);
    color("muted_color", &raw.muted_color, &mut theme.muted_color);
    color("background_color", &raw.background_color, &mut theme.background_color);
    color("dark_link_color", &raw.dark_link_color, &mut theme.dark_link_color);
    for (key, value) in [
        ("text_color", &raw.text_color),
        ("muted_color", &raw.muted_color),
        ("link_color", &raw.link_color),
        ("background_color", &raw.background_color),
        ("dark_link_color", &raw.dark_link_color),
    ] {
        if let Some(v) = value {
            theme.lines.insert(key, line_col(text, v.span().start).0);
        }
    }
    theme.logo = logo(&raw, err);
    if let Some(f) = &raw.font_family {
        let ok = |c: char| c.is_alphanumeric() || matches!(c, ' ' | ',' | '\'' | '-' | '_' | '.');
        if f.get_ref().trim().is_empty() || f.get_ref().len() > 300 || !f.get_ref().chars().all(ok) {
            let msg = "[theme] font_family: write font names separated by commas; only letters, digits, spaces, ' - _ . are allowed";
            err(f.span(), msg.into());
        } else {
            theme.font_family = f.get_ref().trim().to_string();
        }
    }
    let snippet = |v: &Option<Spanned<String>>| {
        v.as_ref().map(|s| Snippet {
            text: s.get_ref().clone(),
            line: line_col(text, s.span().start).0,
        })
    };
    for (key, value) in [("header", &raw.header), ("footer", &raw.footer)] {
        if let Some(Err(e)) = value.as_ref().map(|v| crate::fields::Template::parse(v.get_ref())) {
            err(value.as_ref().expect("checked").span(), format!("[theme] {key}: {e}"));
        }
    }
    theme.header = snippet(&raw.header);
    theme.footer = snippet(&raw.footer);
    theme.toc = raw.toc.unwrap_or(true);
    for (key, value) in raw.labels.iter().flatten() {
        if !LABEL_KEYS.contains(&key.get_ref().as_str()) {
            let known = LABEL_KEYS.join(", ");
            err(
                key.span(),
                format!("[theme.labels] {}: unknown label (known: {known})", key.get_ref()),
            );
        } else if value.get_ref().contains(|c: char| c.is_control()) {
            err(
                value.span(),
                format!("[theme.labels] {}: must be one line", key.get_ref()),
            );
        } else {
            theme.labels.push((key.get_ref().clone(), value.get_ref().clone()));
        }
    }
    theme
}

fn logo(raw: &RawTheme, err: &mut dyn FnMut(Range<usize>, String)) -> Option<Logo> {
    let url = raw.logo_url.as_ref()?;
    let u = url.get_ref();
    if !(u.starts_with("https://") || u.starts_with("http://"))
        || u.contains(|c: char| c.is_whitespace() || c.is_control() || c == '"')
    {
        err(
            url.span(),
            "[theme] logo_url: must be an http(s) URL without spaces".into(),
        );
        return None;
    }
    let px = |key: &str, v: &Option<Spanned<i64>>, err: &mut dyn FnMut(Range<usize>, String)| -> Option<u32> {
        let v = v.as_ref()?;
        match u32::try_from(*v.get_ref()) {
            Ok(n) if (1..=600).contains(&n) => Some(n),
            _ => {
                err(v.span(), format!("[theme] {key}: must be between 1 and 600 pixels"));
                None
            }
        }
    };
    let width = px("logo_width", &raw.logo_width, err).unwrap_or(200);
    let height = px("logo_height", &raw.logo_height, err);
    let alt = raw.logo_alt.as_ref().map(|a| a.get_ref().trim().to_string());
    Some(Logo {
        url: u.to_string(),
        width,
        height,
        alt,
    })
}

/// `check` errors: text, muted text and links that do not reach WCAG AA
/// contrast against the background (light mode, and links in dark mode).
pub fn contrast_problems(theme: &Theme, config_path: &Path) -> Vec<Diagnostic> {
    let pairs = [
        (
            "text_color",
            theme.text_color,
            "background_color",
            theme.background_color,
        ),
        (
            "muted_color",
            theme.muted_color,
            "background_color",
            theme.background_color,
        ),
        (
            "link_color",
            theme.link_color,
            "background_color",
            theme.background_color,
        ),
        (
            "dark_link_color",
            theme.dark_link_color,
            "the dark-mode background",
            DARK_BACKGROUND,
        ),
    ];
    let mut out = Vec::new();
    for (key, fg, bg_key, bg) in pairs {
        let ratio = fg.contrast(bg);
        if ratio >= MIN_CONTRAST {
            continue;
        }
        let line = theme
            .lines
            .get(key)
            .or_else(|| theme.lines.get(bg_key))
            .copied()
            .unwrap_or(0);
        let floor = (ratio * 100.0).floor() / 100.0;
        let msg = format!(
            "[theme] {key}: contrast of {} on {} ({bg_key}) is {floor:.2}:1; WCAG AA needs at least 4.5:1",
            fg.hex(),
            bg.hex()
        );
        let col = usize::from(line > 0);
        out.push(
            Diagnostic::error(config_path, line, col, msg)
                .with_hint("darken the text colour or lighten the background"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_contrast() {
        assert_eq!(Color::parse("#FFF"), Some(Color([255, 255, 255])));
        assert_eq!(Color::parse("#1d4ed8").map(Color::hex).as_deref(), Some("#1d4ed8"));
        assert_eq!(Color::parse("blue"), None);
        assert_eq!(Color::parse("#12345"), None);
        let black = Color([0, 0, 0]);
        let white = Color([255, 255, 255]);
        assert!((black.contrast(white) - 21.0).abs() < 1e-9);
        // #777 on white is the classic just-below-AA grey.
        let grey = Color::parse("#777").unwrap();
        assert!((4.47..4.49).contains(&grey.contrast(white)), "{}", grey.contrast(white));
        let t = Theme::default();
        assert!(contrast_problems(&t, Path::new("n.toml")).is_empty());
    }
}
