//! `newsletter preview` output built through the library (the command needs
//! the parser; see render_corpus.rs for the parser-based tests).

use crate::render::{example_config, fixtures};
use newsletter::preview;

#[test]
fn preview_writes_four_files_with_a_multipart_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = example_config();
    let reader = preview::reader(None).unwrap();
    let p = preview::build(&fixtures::korean(), &cfg, &reader, false).unwrap();
    p.write(dir.path()).unwrap();
    for f in ["email.html", "email.txt", "message.eml", "index.html"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let eml = std::fs::read(dir.path().join("message.eml")).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&eml).expect("parses");
    assert_eq!(msg.subject(), Some("Article Weekly, Issue 99"));
    assert_eq!(msg.to().unwrap().first().unwrap().address(), Some("reader@example.com"));
    assert_eq!(msg.text_body_count(), 1);
    assert_eq!(msg.html_body_count(), 1);
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("https://example.com/u?token=PREVIEW-TOKEN"), "{text}");
    assert!(msg.body_html(0).unwrap().contains("<html lang=\"ko\">"));
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        index.contains("src=\"email.html\"") && index.contains("width: 375px"),
        "{index}"
    );
    assert!(index.contains("Subject"), "headers are shown");
    assert!(!index.contains("/version"), "static viewer");
}

#[test]
fn as_takes_an_address_or_a_mailbox() {
    assert_eq!(
        preview::reader(Some("a@example.com")).unwrap().email.to_string(),
        "a@example.com"
    );
    let m = preview::reader(Some("Kim <kim@example.com>")).unwrap();
    assert_eq!(m.name.as_deref(), Some("Kim"));
    assert!(preview::reader(Some("not an address")).is_err());
}

#[test]
fn preview_command_reports_a_missing_parser_or_a_bad_issue() {
    let sb = crate::harness::Sandbox::empty();
    std::fs::copy(
        crate::harness::repo_root().join("newsletter.toml"),
        sb.path("newsletter.toml"),
    )
    .unwrap();
    let run = sb.run(&["preview", "issues/missing.md"]);
    run.expect_code(2);
}
