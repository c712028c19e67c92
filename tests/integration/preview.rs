//! `newsletter preview`: the four files, the reader, and `message.eml` being
//! exactly the message `send` builds for that reader.

use crate::harness::Sandbox;
use crate::render::{example_config, fixtures};
use mail_parser::MessageParser;
use newsletter::preview;

#[test]
fn preview_builds_a_multipart_message_for_a_placeholder_reader() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = example_config();
    cfg.paths.subscribers = dir.path().join("no-subscribers");
    let reader = preview::reader(&cfg, None).unwrap();
    assert_eq!(reader.mailbox.email.to_string(), "reader@example.com");
    let p = preview::build(
        &fixtures::korean(),
        &cfg,
        &newsletter::keys::Keys::default(),
        &reader,
        false,
    )
    .unwrap();
    p.write(dir.path()).unwrap();
    for f in ["email.html", "email.txt", "message.eml", "index.html"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let eml = std::fs::read(dir.path().join("message.eml")).unwrap();
    let msg = MessageParser::default().parse(&eml).expect("parses");
    assert_eq!(msg.subject(), Some("Article Weekly, Issue 99"));
    assert_eq!(msg.to().unwrap().first().unwrap().address(), Some("reader@example.com"));
    assert_eq!(msg.text_body_count(), 1);
    assert_eq!(msg.html_body_count(), 1);
    assert!(msg.body_html(0).unwrap().contains("<html lang=\"ko\" dir=\"ltr\""));
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(
        index.contains("src=\"email.html\"") && index.contains("width: 375px"),
        "{index}"
    );
    assert!(index.contains("Subject"), "headers are shown");
    assert!(!index.contains("/version"), "static viewer");
}

#[test]
fn as_takes_an_address_or_a_mailbox_and_names_come_from_the_list() {
    let cfg = example_config();
    let m = preview::reader(&cfg, Some("minji.kim@example.com")).unwrap();
    assert_eq!(
        m.mailbox.name.as_deref(),
        Some("김민지"),
        "the name comes from subscribers/"
    );
    let m = preview::reader(&cfg, Some("Kim <kim@example.com>")).unwrap();
    assert_eq!(m.mailbox.name.as_deref(), Some("Kim"));
    assert_eq!(
        preview::reader(&cfg, Some("a@example.net"))
            .unwrap()
            .mailbox
            .email
            .to_string(),
        "a@example.net"
    );
    assert!(preview::reader(&cfg, Some("not an address")).is_err());
    let first = preview::reader(&cfg, None).unwrap();
    assert_eq!(
        first.mailbox.email.to_string(),
        "minji.kim@example.com",
        "default: first active subscriber"
    );
}

#[test]
fn preview_command_writes_what_send_would_deliver() {
    let sb = Sandbox::example();
    sb.run(&[
        "preview",
        "issues/2026-w47.md",
        "--as",
        "ada@example.com",
        "--out",
        "pv",
    ])
    .expect_code(0);
    sb.run(&["send", "issues/2026-w47.md", "--dry-run"]).expect_code(0);
    let preview = std::fs::read(sb.path("pv/message.eml")).unwrap();
    let sent = std::fs::read(sb.path("outbox/2026-w47/ada@example.com.eml")).unwrap();
    let (p, s) = (
        MessageParser::default().parse(&preview).unwrap(),
        MessageParser::default().parse(&sent).unwrap(),
    );
    assert_eq!(p.message_id(), s.message_id());
    assert_eq!(p.header_raw("List-Unsubscribe"), s.header_raw("List-Unsubscribe"));
    assert_eq!(p.to().unwrap().first().unwrap().name(), Some("Lovelace, Ada"));
    assert_eq!(p.body_text(0), s.body_text(0));
    assert_eq!(p.body_html(0), s.body_html(0));
    let html = sb.read("pv/email.html");
    // MIME bodies travel with CRLF line ends.
    assert_eq!(
        html,
        s.body_html(0).unwrap().replace("\r\n", "\n"),
        "email.html is the HTML part"
    );
}

#[test]
fn preview_command_reports_a_missing_issue() {
    let sb = Sandbox::example();
    let run = sb.run(&["preview", "issues/missing.md"]);
    run.expect_code(2);
    assert!(run.stderr.contains("issues/missing.md"), "{}", run.stderr);
}

#[test]
fn the_served_preview_shows_the_error_lines_of_an_invalid_issue() {
    use std::io::{BufRead, Read, Write};
    let sb = Sandbox::example();
    let text = sb.read("issues/2026-w47.md");
    // Break the front matter: no closing `+++`.
    sb.write("issues/broken.md", text.replacen("+++\n\n## Period", "\n## Period", 1));
    let mut child = sb
        .cmd(&["preview", "broken", "--serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("Serving the preview at http://")
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let mut stream = std::net::TcpStream::connect(&url).unwrap();
    write!(stream, "GET / HTTP/1.0\r\nHost: {url}\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        page.contains("issues/broken.md:1:1: error: unterminated front matter: no closing `+++` line"),
        "{page}"
    );
}
