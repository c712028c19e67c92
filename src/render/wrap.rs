//! Plain-text wrapping at a display width (Hangul and emoji count two
//! columns), with hanging indents, never splitting a word or a URL.

use textwrap::{wrap_algorithms::WrapAlgorithm, WordSeparator, WordSplitter};
use unicode_width::UnicodeWidthStr;

/// The plain-text body's line width, in display columns.
pub const TEXT_WIDTH: usize = 72;

/// Display width of `s` in terminal columns.
pub fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Wraps `text` (which may hold `\n` for hard breaks) to `width` columns.
/// The first line starts with `first`, every other line with `rest`: a list
/// item passes its marker and a same-width run of spaces for a hanging indent.
/// Words are split only at ASCII spaces, so a URL or a Korean word glued to
/// its particle stays whole; a word wider than the line gets a line of its own.
pub fn wrap_hanging(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_separator(WordSeparator::AsciiSpace)
        .word_splitter(WordSplitter::NoHyphenation)
        .wrap_algorithm(WrapAlgorithm::new_optimal_fit());
    textwrap::wrap(text, options)
        .into_iter()
        .map(|line| line.trim_end().to_string())
        .collect()
}

/// An underline of `ch` as wide as the widest of `lines`.
pub fn underline(lines: &[String], ch: char) -> String {
    let width = lines.iter().map(|l| display_width(l)).max().unwrap_or(0);
    std::iter::repeat_n(ch, width.max(3)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(lines: &[String]) -> usize {
        lines.iter().map(|l| display_width(l)).max().unwrap_or(0)
    }

    #[test]
    fn hangul_counts_two_columns() {
        assert_eq!(display_width("한국어"), 6);
        let text = "가나다라마바사 ".repeat(20);
        let lines = wrap_hanging(&text, 72, "", "");
        assert!(lines.len() > 1);
        assert!(widest(&lines) <= 72, "{lines:#?}");
        // 7 syllables (14 columns) + space: at most 4 words fit in 72 columns.
        assert_eq!(lines[0].split(' ').count(), 4, "{lines:#?}");
    }

    #[test]
    fn hanging_indent_on_every_continuation_line() {
        let text = "word ".repeat(60);
        let lines = wrap_hanging(text.trim(), 30, "    - ", "      ");
        assert!(lines[0].starts_with("    - word"));
        for l in &lines[1..] {
            assert!(l.starts_with("      word"), "{l:?}");
        }
        assert!(widest(&lines) <= 30);
    }

    #[test]
    fn url_is_never_split() {
        let url = "https://example.com/a/very/long/path/that/does/not/fit/in/the/line/at/all?x=1&y=2";
        let text = format!("읽어볼 만한 글 {url} 이다 그리고 더 많은 말이 뒤에 온다");
        let lines = wrap_hanging(&text, 40, "- ", "  ");
        assert!(lines.iter().any(|l| l.trim_start() == url), "{lines:#?}");
        for l in &lines {
            if !l.contains(url) {
                assert!(display_width(l) <= 40, "{l:?}");
            }
        }
    }

    #[test]
    fn url_glued_to_hangul_stays_whole() {
        let text = "레포지토리(https://github.com/meta-llama/llama3)가 공개되었고 누구나 내려받을 수 있다";
        let lines = wrap_hanging(text, 30, "", "");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("레포지토리(https://github.com/meta-llama/llama3)가")),
            "{lines:#?}"
        );
    }

    #[test]
    fn hard_breaks_keep_the_indent() {
        let lines = wrap_hanging("one\ntwo", 72, "1. ", "   ");
        assert_eq!(lines, vec!["1. one", "   two"]);
    }

    #[test]
    fn emoji_and_combining_marks() {
        assert_eq!(display_width("💣"), 2);
        assert_eq!(display_width("e\u{301}"), 1);
        let lines = wrap_hanging(&"💣é ".repeat(40), 20, "", "");
        assert!(widest(&lines) <= 20, "{lines:#?}");
    }

    #[test]
    fn underline_matches_display_width() {
        assert_eq!(underline(&["한국어 ab".to_string()], '-'), "-".repeat(9));
    }
}
