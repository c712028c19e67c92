//! Issue files that must be rejected, with the exact diagnostic each gets.

use crate::harness::Sandbox;
use newsletter::issue;

/// Writes `content` as `bad.md` in a fresh folder and returns the rendered
/// diagnostics of `issue::from_file`, with the folder stripped from paths.
fn errors(content: &[u8]) -> Vec<String> {
    let sb = Sandbox::empty();
    let path = sb.write("bad.md", content);
    let diags = issue::from_file(&path).expect_err("the issue must be rejected");
    let prefix = format!("{}/", sb.dir.path().display());
    diags.iter().map(|d| d.to_string().replace(&prefix, "")).collect()
}

const BODY: &str =
    "\n## Period\n\n`2026-11-15` ~ `2026-11-21`\n\n## A\n\n- text\n\n## References\n\n- https://example.com/a\n";

#[test]
fn unterminated_front_matter() {
    let text = format!("+++\ntitle = \"Field Notes Weekly, Issue 1\"\ndate = 2026-11-23\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:1:1: error: unterminated front matter: no closing `+++` line\n  hint: did you forget the closing `+++`?"]
    );
    let text = format!("---\ntitle: x\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:1:1: error: unterminated front matter: no closing `---` line\n  hint: did you forget the closing `---`?"]
    );
}

#[test]
fn invalid_toml_points_at_the_line_in_the_issue_file() {
    let text = format!("+++ \ntitle = \"Field Notes Weekly, Issue 1\"\ndate = 2026-11-23\ntags = [\"a\",\n+++\n{BODY}");
    // Line 4 of the file opens the array that the front matter never closes.
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:4:13: error: invalid TOML front matter: unclosed array, expected `]`"]
    );
    let text = format!("+++\ntitle = \"Field Notes Weekly, Issue 1\"\ndate = = 2026-11-23\n+++\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:3:8: error: invalid TOML front matter: extra `=`, expected nothing"]
    );
}

#[test]
fn invalid_yaml_points_at_the_line_in_the_issue_file() {
    let text = format!("---\ntitle: ok\ndate: 2026-11-30\ntags: [a, b\n---\n{BODY}");
    // The position of the unclosed bracket, in the issue file.
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:4:7: error: invalid YAML front matter: unclosed bracket '['"]
    );
}

#[test]
fn deeply_nested_yaml_is_refused_at_once() {
    let deep = format!(
        "---\ntitle: ok\ndate: 2026-11-30\nx: {}{}\n---\n{BODY}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let start = std::time::Instant::now();
    let got = errors(deep.as_bytes());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("bad.md:4:")
            && got[0].ends_with("error: invalid YAML front matter: nested more than 32 levels deep"),
        "{got:?}"
    );
    let mut block = String::from("---\ntitle: ok\n");
    for depth in 0..2000 {
        block.push_str(&format!("{}k:\n", " ".repeat(depth)));
    }
    let got = errors(format!("{block}---\n{BODY}").as_bytes());
    assert!(got[0].ends_with("nested more than 32 levels deep"), "{got:?}");
    // Not a timing assertion: a generous bound that only a quadratic blow-up would reach.
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn missing_title_and_missing_date() {
    let text = format!("+++\ndate = 2026-11-23T09:00:00+09:00\n+++\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:1:1: error: front matter: missing `title`\n  hint: add `title = \"...\"` to the front matter"]
    );
    let text = format!("+++\ntitle = \"Field Notes Weekly, Issue 1\"\n+++\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:1:1: error: front matter: missing `date`\n  hint: add `date = 2026-11-23T09:00:00+09:00` (or a bare date) to the front matter"]
    );
}

#[test]
fn bad_field_values_name_the_field_and_line() {
    let text = format!("+++\ntitle = \"T\"\ndate = \"next tuesday\"\ntags = 3\nslug = \"../x\"\n+++\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        [
            "bad.md:3:1: error: front matter `date`: `next tuesday` is not a date\n  hint: write an offset date-time like 2026-11-23T09:00:00+09:00, or a bare date like 2026-11-23",
            "bad.md:4:1: error: front matter `tags`: expected a list of strings, found integer",
            "bad.md:5:1: error: front matter `slug`: `../x` is not a safe identifier\n  hint: use letters, digits, `-`, `_` and `.` (not first), e.g. `2026-w47`",
        ]
    );
    let text = format!("+++\ntitle = \"T\"\ndate = 2026-11-23T09:00:00\n+++\n{BODY}");
    assert_eq!(
        errors(text.as_bytes()),
        ["bad.md:3:1: error: front matter `date`: `2026-11-23T09:00:00` has no UTC offset\n  hint: write an offset date-time like 2026-11-23T09:00:00+09:00, or a bare date like 2026-11-23"]
    );
}

#[test]
fn binary_and_non_utf8_files() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(
        errors(png),
        ["bad.md:1:1: error: not a text file: invalid UTF-8 (byte 0x89) in what looks like binary data\n  hint: save the issue as UTF-8 markdown"]
    );
    let latin1 = b"+++\ntitle = \"caf\xe9\"\n";
    assert_eq!(
        errors(latin1),
        ["bad.md:2:13: error: not UTF-8 text: invalid byte 0xE9\n  hint: save the issue as UTF-8 markdown"]
    );
    assert_eq!(
        errors(b"+++\ntitle = \"a\0b\"\n"),
        ["bad.md:2:11: error: not a text file: contains a NUL byte\n  hint: save the issue as UTF-8 markdown"]
    );
}

#[test]
fn empty_file_and_no_front_matter() {
    let hint =
        "  hint: an issue starts with `+++` front matter (title, date), then `## Period`, articles and `## References`";
    assert_eq!(
        errors(b""),
        [format!(
            "bad.md:1:1: error: empty file: no front matter and no articles\n{hint}"
        )]
    );
    assert_eq!(
        errors(b"\n  \n"),
        [format!(
            "bad.md:1:1: error: empty file: no front matter and no articles\n{hint}"
        )]
    );
    assert_eq!(
        errors(b"# Hello\n"),
        ["bad.md:1:1: error: missing front matter: the file must start with `+++` or `---`\n  hint: open the file with a `+++` line, then `title = \"...\"` and `date = ...`, then a closing `+++` line"]
    );
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let sb = Sandbox::empty();
    let diags = issue::from_file(&sb.path("nope.md")).unwrap_err();
    assert!(
        diags[0].to_string().contains("nope.md:0:0: error: cannot read issue: "),
        "{diags:?}"
    );
}
