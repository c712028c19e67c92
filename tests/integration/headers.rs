//! Message correctness on hostile text: overlong titles and names, control
//! characters, encoded-word look-alikes, runs of spaces in a Korean
//! subject, `list_id`, dry-run file names, and `check` agreeing with `send`.
//! Messages are read back with mail-parser (Python's email package reads
//! them in `.ci/interop.py`).

use crate::harness::{unstamped, Run, Sandbox};
use mail_parser::MessageParser;

const ISSUE: &str = "issues/2026-w47.md";

fn with_title(sb: &Sandbox, toml_string: &str) {
    let text = sb.read(ISSUE);
    let line = text.lines().find(|l| l.starts_with("title = ")).unwrap().to_string();
    sb.write(ISSUE, text.replacen(&line, &format!("title = \"{toml_string}\""), 1));
}

fn dry_run(sb: &Sandbox) -> Run {
    let r = sb.run(&["send", ISSUE, "--dry-run"]);
    r.expect_code(0);
    r
}

fn eml(sb: &Sandbox, email: &str) -> Vec<u8> {
    std::fs::read(sb.path(&format!("outbox/2026-w47/{email}.eml"))).unwrap()
}

/// Every line of the header block, checked against RFC 5322's 998 octets.
fn assert_short_header_lines(message: &[u8]) {
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next().unwrap();
    for line in head.split("\r\n") {
        assert!(
            line.len() <= 998,
            "a {}-octet header line: {}…",
            line.len(),
            &line[..80]
        );
    }
}

#[test]
fn a_5000_character_unbroken_title_is_folded_and_decodes_back() {
    let sb = Sandbox::example();
    let title = "T".repeat(5000);
    with_title(&sb, &title);
    dry_run(&sb);
    let m = eml(&sb, "ada@example.com");
    assert_short_header_lines(&m);
    let text = String::from_utf8_lossy(&m);
    let subject_lines = text
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' '))
        .collect::<Vec<_>>();
    assert!(subject_lines.len() > 60, "folded into many lines");
    assert!(subject_lines.iter().all(|l| l.len() <= 78), "{subject_lines:?}");
    assert_eq!(
        MessageParser::default().parse(&m).unwrap().subject(),
        Some(title.as_str())
    );
}

#[test]
fn names_over_200_characters_are_refused_and_long_ones_fold() {
    let sb = Sandbox::example();
    let huge = "N".repeat(5000);
    let long = "L".repeat(200);
    let korean = "김".repeat(200);
    sb.write(
        "subscribers/example.csv",
        format!("email,name\nhuge@example.com,{huge}\nlong@example.com,{long}\nko@example.com,{korean}\n"),
    );
    let r = sb.run(&["check"]);
    r.expect_code(2);
    assert!(
        unstamped(&r.stderr).contains(&format!(
            "subscribers/example.csv:2:1: error: name \"{}\"… (5000 bytes in all) is 5000 characters long; a mail header takes at most 200",
            "N".repeat(60)
        )),
        "{}",
        r.stderr
    );
    sb.write(
        "subscribers/example.csv",
        format!("email,name\nlong@example.com,{long}\nko@example.com,{korean}\n"),
    );
    dry_run(&sb);
    for (email, name) in [("long@example.com", &long), ("ko@example.com", &korean)] {
        let m = eml(&sb, email);
        assert_short_header_lines(&m);
        let parsed = MessageParser::default().parse(&m).unwrap();
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some(name.as_str()));
    }
}

#[test]
fn control_characters_and_line_separators_in_a_title_are_refused() {
    for (escape, code) in [
        ("\\u000B", "U+000B"),
        ("\\u000C", "U+000C"),
        ("\\u001B", "U+001B"),
        ("\\u0000", "U+0000"),
        ("\\u0085", "U+0085"),
        ("\\u2028", "U+2028"),
    ] {
        let sb = Sandbox::example();
        with_title(&sb, &format!("Weekly{escape}Bcc: x"));
        let r = sb.run(&["check", ISSUE]);
        r.expect_code(2);
        assert!(
            unstamped(&r.stderr).contains("the subject built from the issue's front matter contains ")
                && unstamped(&r.stderr).contains(&format!("({code})")),
            "{escape}: {}",
            r.stderr
        );
        let r = sb.run(&["send", ISSUE, "--dry-run"]);
        r.expect_code(2);
        assert!(!sb.path("outbox/2026-w47").join("ada@example.com.eml").exists());
    }
}

#[test]
fn a_title_that_looks_like_an_encoded_word_is_encoded() {
    let sb = Sandbox::example();
    let title = "=?utf-8?q?Your_account_is_locked=3A_sign_in?=";
    with_title(&sb, title);
    dry_run(&sb);
    let m = eml(&sb, "ada@example.com");
    let text = String::from_utf8_lossy(&m);
    let subject = text.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject.starts_with("Subject: =?utf-8?b?"), "{subject}");
    assert_eq!(MessageParser::default().parse(&m).unwrap().subject(), Some(title));
}

#[test]
fn runs_of_spaces_in_a_korean_subject_survive() {
    let sb = Sandbox::example();
    let title = "공백  두칸,   세 칸 and  two ASCII";
    with_title(&sb, title);
    dry_run(&sb);
    let m = eml(&sb, "ada@example.com");
    assert_short_header_lines(&m);
    assert_eq!(MessageParser::default().parse(&m).unwrap().subject(), Some(title));
}

#[test]
fn list_id_must_be_a_list_id() {
    let sb = Sandbox::example();
    let cfg = sb.read("newsletter.toml");
    sb.write(
        "newsletter.toml",
        cfg.replace(
            "list_id = \"weekly.example.com\"",
            "list_id = \"weekly.example.com> <evil\"",
        ),
    );
    let line = cfg.lines().position(|l| l.starts_with("list_id")).unwrap() + 1;
    for args in [&["check"][..], &["send", ISSUE, "--dry-run"]] {
        let r = sb.run(args);
        r.expect_code(2);
        assert!(
            unstamped(&r.stderr).contains(&format!(
                "newsletter.toml:{line}:11: error: [newsletter] list_id: \"weekly.example.com> <evil\" is not a list id"
            )),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn dry_run_file_names_are_unique_and_reversible() {
    let sb = Sandbox::example();
    let emails = [
        "a/b@example.org",
        "a|b@example.org",
        "a'b@example.org",
        "a_b@example.org",
    ];
    sb.write("subscribers/example.csv", format!("email\n{}\n", emails.join("\n")));
    let r = dry_run(&sb);
    assert!(r.stdout.contains("dry run: wrote 4 messages"), "{}", r.stdout);
    let mut names: Vec<String> = std::fs::read_dir(sb.path("outbox/2026-w47"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let decoded: Vec<String> = names
        .iter()
        .map(|n| {
            let stem = n.strip_suffix(".eml").unwrap();
            let mut out = Vec::new();
            let mut bytes = stem.bytes();
            while let Some(b) = bytes.next() {
                if b == b'%' {
                    let hex: String = [bytes.next().unwrap(), bytes.next().unwrap()]
                        .iter()
                        .map(|&c| c as char)
                        .collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap());
                } else {
                    out.push(b);
                }
            }
            String::from_utf8(out).unwrap()
        })
        .collect();
    let mut want: Vec<String> = emails.iter().map(|e| e.to_string()).collect();
    want.sort();
    let mut got = decoded.clone();
    got.sort();
    assert_eq!(got, want, "{names:?}");
    for (name, email) in names.iter().zip(&decoded) {
        let m = std::fs::read(sb.path("outbox/2026-w47").join(name)).unwrap();
        let parsed = MessageParser::default().parse(&m).unwrap();
        assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some(email.as_str()));
    }
}

#[test]
fn check_refuses_what_send_refuses_in_smtp() {
    let sb = Sandbox::example();
    let cfg = sb.read("newsletter.toml").replace(
        "host = \"127.0.0.1\"",
        "host = \"localhost.localdomain\"\nusername = \"weekly\"\npassword_env = \"NL_HARDEN_PW\"",
    );
    sb.write("newsletter.toml", cfg);
    let refusal = "[smtp] username: refusing to send the password unencrypted to \"localhost.localdomain\"; \
                   use security = \"starttls\" or \"tls\"";
    let mut c = sb.cmd(&["check"]);
    c.env("NL_HARDEN_PW", "secret-pw");
    let r = Run::from(c.output().unwrap());
    r.expect_code(2);
    assert!(unstamped(&r.stderr).contains(refusal), "{}", r.stderr);
    let mut c = sb.cmd(&["send", ISSUE, "--yes"]);
    c.env("NL_HARDEN_PW", "secret-pw");
    let r = Run::from(c.output().unwrap());
    r.expect_code(2);
    assert!(unstamped(&r.stderr).contains(refusal), "{}", r.stderr);
    // On loopback both accept; a missing password is what a live send
    // refuses, and `check` says so (a warning, an error with --smtp).
    let cfg = sb.read("newsletter.toml").replace("localhost.localdomain", "127.0.0.1");
    sb.write("newsletter.toml", cfg);
    let mut c = sb.cmd(&["check"]);
    c.env("NL_HARDEN_PW", "secret-pw");
    Run::from(c.output().unwrap()).expect_code(0);
    let r = sb.run(&["check"]);
    r.expect_code(0);
    assert!(
        unstamped(&r.stderr).contains("warning: [smtp] password_env: NL_HARDEN_PW is not set; a live send needs it"),
        "{}",
        r.stderr
    );
    let r = sb.run(&["send", ISSUE, "--yes"]);
    r.expect_code(2);
    assert!(
        unstamped(&r.stderr).contains("[smtp] password_env: environment variable NL_HARDEN_PW is not set"),
        "{}",
        r.stderr
    );
}
