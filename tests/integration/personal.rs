//! Personal fields: `{name|fallback}` and any column of the list in the
//! subject and the theme's header and footer; unknown fields are `check`
//! errors naming the config line; a missing value is its fallback, never a
//! raw placeholder; `preview --as` shows the result.

use crate::harness::Sandbox;
use mail_parser::MessageParser;

const SUBJECT: &str = "subject = \"{name|독자}님, {title} ({city|어딘가})\"";
const HEADER: &str = "[theme]\nheader = \"Hello {name|reader}, greetings to {City|your town}.\"\n";

fn folder(subject: &str, theme: &str) -> Sandbox {
    let sb = Sandbox::example();
    let cfg = sb.read("newsletter.toml").replace("subject = \"{title}\"", subject);
    sb.write("newsletter.toml", format!("{cfg}\n{theme}"));
    // A subscriber with neither a name nor a city.
    let list = sb.read("subscribers/example.csv");
    sb.write(
        "subscribers/example.csv",
        format!("{list}anon@example.com,,subscribed,\n"),
    );
    sb
}

fn message(sb: &Sandbox, who: &str) -> (String, String, String) {
    let eml = sb.read(&format!("outbox/2026-w47/{who}.eml"));
    let m = MessageParser::default().parse(eml.as_bytes()).unwrap();
    (
        m.subject().unwrap().to_string(),
        m.body_text(0).unwrap().into_owned(),
        m.body_html(0).unwrap().into_owned(),
    )
}

#[test]
fn subject_and_header_are_filled_per_recipient_with_fallbacks() {
    let sb = folder(SUBJECT, HEADER);
    sb.run(&["check"]).expect_code(0);
    sb.run(&["send", "issues/2026-w47.md", "--dry-run"]).expect_code(0);
    let (subject, text, html) = message(&sb, "minji.kim@example.com");
    assert_eq!(subject, "김민지님, Field Notes Weekly, Issue 47 (Seoul)");
    assert!(text.contains("Hello 김민지, greetings to Seoul."), "{text}");
    assert!(html.contains("Hello 김민지, greetings to Seoul."), "{html}");
    assert!(
        html.contains("aria-label=\"김민지님, Field Notes Weekly, Issue 47 (Seoul)\""),
        "{html}"
    );
    let (subject, text, html) = message(&sb, "anon@example.com");
    assert_eq!(subject, "독자님, Field Notes Weekly, Issue 47 (어딘가)");
    assert!(text.contains("Hello reader, greetings to your town."), "{text}");
    assert!(
        !text.contains('{') && !html.contains("{name") && !html.contains("@@nl"),
        "{text}"
    );
    // A name that looks like markup stays text.
    let list = sb.read("subscribers/example.csv");
    sb.write(
        "subscribers/example.csv",
        format!("{list}x@example.com,<b>Bold</b>,subscribed,\"A & B\"\n"),
    );
    sb.run(&["send", "issues/2026-w47.md", "--dry-run"]).expect_code(0);
    let (_, _, html) = message(&sb, "x@example.com");
    assert!(
        html.contains("Hello &lt;b&gt;Bold&lt;/b&gt;, greetings to A &amp; B."),
        "{html}"
    );
}

#[test]
fn unknown_fields_are_check_errors_naming_the_config_line() {
    let sb = folder(
        "subject = \"{title} for {plan}\"",
        "[theme]\nfooter = \"\"\"\nYour plan: {plan|free}\nNick: {nickname}\n\"\"\"\n",
    );
    let run = sb.run(&["check"]);
    run.expect_code(2);
    let cfg = sb.read("newsletter.toml");
    let line = |p: &str| cfg.lines().position(|l| l.starts_with(p)).unwrap() + 1;
    let fields = "(issue fields: title, id, number, series, date, description; subscriber fields: name, email; columns of the list: city)";
    for want in [
        format!(
            "newsletter.toml:{}:1: error: [newsletter] subject: unknown field `{{plan}}` {fields}",
            line("subject")
        ),
        format!(
            "newsletter.toml:{}:1: error: [theme] footer: unknown field `{{plan}}` {fields}",
            line("footer")
        ),
        format!(
            "newsletter.toml:{}:1: error: [theme] footer: unknown field `{{nickname}}` {fields}",
            line("footer")
        ),
    ] {
        assert!(run.stderr.contains(&want), "missing {want:?} in:\n{}", run.stderr);
    }
    let run = sb.run(&["send", "issues/2026-w47.md", "--yes"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("finds 3 errors: nothing was sent"),
        "{}",
        run.stderr
    );
}

#[test]
fn preview_as_shows_the_personal_result() {
    let sb = folder(SUBJECT, HEADER);
    sb.run(&[
        "preview",
        "issues/2026-w47.md",
        "--as",
        "seoyeon.lee@example.net",
        "--out",
        "pv",
    ])
    .expect_code(0);
    let index = sb.read("pv/index.html");
    assert!(
        index.contains("이서연님, Field Notes Weekly, Issue 47 (어딘가)"),
        "{index}"
    );
    let html = sb.read("pv/email.html");
    assert!(html.contains("Hello 이서연, greetings to your town."), "{html}");
    let eml = std::fs::read(sb.path("pv/message.eml")).unwrap();
    let m = MessageParser::default().parse(&eml).unwrap();
    assert_eq!(m.subject(), Some("이서연님, Field Notes Weekly, Issue 47 (어딘가)"));
}
