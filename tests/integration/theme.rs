//! `[theme]`, `[theme.labels]` and `language`: validation with exact error
//! text, the WCAG contrast check of `check`, the pre-send gate, and the look
//! reaching the mail.

use crate::harness::Sandbox;

/// The example folder with `extra` appended to its newsletter.toml (and
/// `newsletter_extra` inserted into `[newsletter]`).
fn folder(newsletter_extra: &str, extra: &str) -> Sandbox {
    let sb = Sandbox::example();
    let cfg = sb.read("newsletter.toml");
    let cfg = cfg.replacen(
        "max_age_days = 7\n",
        &format!("max_age_days = 7\n{newsletter_extra}"),
        1,
    );
    sb.write("newsletter.toml", format!("{cfg}\n{extra}"));
    sb
}

/// 1-based line of the first line of newsletter.toml that starts with `prefix`.
fn line_of(sb: &Sandbox, prefix: &str) -> usize {
    sb.read("newsletter.toml")
        .lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} not in newsletter.toml"))
        + 1
}

#[test]
fn invalid_theme_values_are_config_errors_with_exact_text() {
    let sb = folder(
        "language = \"fr\"\n",
        "[theme]\nlink_color = \"blue\"\nlogo_url = \"https://example.com/logo.png\"\nlogo_width = 900\nfont_family = \"Arial; color:red\"\nheader = \"Hi {name\"\n\n[theme.labels]\ncontents = \"In this issue\"\nnope = \"x\"\n",
    );
    let run = sb.run(&["check"]);
    run.expect_code(2);
    let expected = [
        format!(
            "newsletter.toml:{}:12: error: [newsletter] language: unknown value \"fr\" (expected \"ko\" or \"en\")",
            line_of(&sb, "language")
        ),
        format!(
            "newsletter.toml:{}:14: error: [theme] link_color: \"blue\" is not a colour: write #rgb or #rrggbb",
            line_of(&sb, "link_color")
        ),
        format!(
            "newsletter.toml:{}:14: error: [theme] logo_width: must be between 1 and 600 pixels",
            line_of(&sb, "logo_width")
        ),
        format!(
            "newsletter.toml:{}:15: error: [theme] font_family: write font names separated by commas; only letters, digits, spaces, ' - _ . are allowed",
            line_of(&sb, "font_family")
        ),
        format!(
            "newsletter.toml:{}:10: error: [theme] header: unclosed `{{` (write `{{{{` for a literal brace)",
            line_of(&sb, "header")
        ),
        format!(
            "newsletter.toml:{}:1: error: [theme.labels] nope: unknown label (known: contents, related, more_links, notes, view_in_browser, unsubscribe, unsubscribe_by_mail, reply_to_unsubscribe, sent_to, why_prefix, why_suffix, image, task_done, task_open)",
            line_of(&sb, "nope")
        ),
    ];
    for line in &expected {
        assert!(
            run.stderr.contains(line.as_str()),
            "missing {line:?} in:\n{}",
            run.stderr
        );
    }
    // One line per error and nothing else (no trailing "invalid configuration").
    assert!(
        run.stderr
            .lines()
            .all(|l| l.starts_with("newsletter.toml:") && l.contains(": error: ")),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), expected.len(), "{}", run.stderr);
}

const LOW_CONTRAST: &str = "[theme]\nlink_color = \"#7aa7ff\"\nmuted_color = \"#999\"\n";

#[test]
fn low_contrast_is_a_check_error_and_blocks_a_live_send() {
    let sb = folder("", LOW_CONTRAST);
    let run = sb.run(&["check"]);
    run.expect_code(2);
    let hint = "  hint: darken the text colour or lighten the background\n";
    let muted = format!(
        "newsletter.toml:{}:1: error: [theme] muted_color: contrast of #999999 on #ffffff (background_color) is 2.84:1; WCAG AA needs at least 4.5:1\n{hint}",
        line_of(&sb, "muted_color")
    );
    let link = format!(
        "newsletter.toml:{}:1: error: [theme] link_color: contrast of #7aa7ff on #ffffff (background_color) is 2.38:1; WCAG AA needs at least 4.5:1\n{hint}",
        line_of(&sb, "link_color")
    );
    assert!(run.stderr.contains(&muted), "{}", run.stderr);
    assert!(run.stderr.contains(&link), "{}", run.stderr);
    assert_eq!(run.stdout, "checked 2 issues: 2 errors, 0 warnings\n");
    // A dry run still works (it is how the author looks at the result)...
    sb.run(&["send", "issues/2026-w47.md", "--dry-run"]).expect_code(0);
    // ...but a live send refuses to start: no connection, no journal.
    let run = sb.run(&["send", "issues/2026-w47.md", "--yes"]);
    run.expect_code(2);
    // `send` stamps its lines when stderr is not a terminal.
    let stderr = crate::harness::unstamped(&run.stderr);
    assert!(stderr.contains(&muted), "{stderr}");
    assert!(
        stderr.ends_with("error: issues/2026-w47.md: `newsletter check` finds 2 errors: nothing was sent\n"),
        "{stderr}"
    );
    assert!(!sb.path("state/newsletter.db").exists());
}

#[test]
fn the_theme_reaches_the_mail() {
    let theme = "[theme]\naccent_color = \"#0f766e\"\nlink_color = \"#0e7490\"\nlogo_url = \"https://example.com/logo.png\"\nlogo_width = 120\nlogo_height = 40\nfont_family = \"Georgia, 'Nanum Myeongjo', serif\"\nheader = \"A note from the editor: *thank you* for [reading](https://example.com/about).\"\nfooter = \"Forwarded this? [Subscribe](https://example.com/subscribe).\"\ntoc = false\n\n[theme.labels]\nunsubscribe = \"Stop these emails\"\n";
    let sb = folder("language = \"en\"\n", theme);
    sb.run(&["check"]).expect_code(0);
    sb.run(&["send", "issues/2026-w47.md", "--dry-run"]).expect_code(0);
    let eml = sb.read("outbox/2026-w47/minji.kim@example.com.eml");
    let msg = mail_parser::MessageParser::default().parse(eml.as_bytes()).unwrap();
    let html = msg.body_html(0).unwrap();
    let text = msg.body_text(0).unwrap();
    assert!(html.contains("border-top:4px solid #0f766e"), "accent");
    assert!(html.contains("color:#0e7490"), "link colour");
    assert!(html.contains("font-family:Georgia, 'Nanum Myeongjo', serif"), "fonts");
    let doc = scraper::Html::parse_document(&html);
    let logo = doc
        .select(&scraper::Selector::parse("img.logo").unwrap())
        .next()
        .expect("logo");
    let attr = |a: &str| logo.value().attr(a);
    assert_eq!(
        (attr("src"), attr("width"), attr("height"), attr("alt")),
        (
            Some("https://example.com/logo.png"),
            Some("120"),
            Some("40"),
            Some("Field Notes Weekly")
        ),
        "the newsletter's name is the logo's alt text"
    );
    assert!(html.contains("<em>thank you</em>") && html.contains("href=\"https://example.com/about\""));
    assert!(html.contains("Forwarded this?"));
    assert!(
        text.contains("A note from the editor: _thank you_ for reading [1]."),
        "{text}"
    );
    assert!(text.contains("Forwarded this? Subscribe ["), "{text}");
    // `toc = false`, English labels on a Korean issue, one label overridden.
    assert!(!html.contains("class=\"toc-title\"") && !text.contains("\nContents\n"));
    assert!(html.contains("<html lang=\"en\""));
    assert!(html.contains(">Stop these emails</a>") && text.contains("Stop these emails:"));
    assert!(text.contains("You get this email because you subscribed to Field Notes Weekly."));
}
