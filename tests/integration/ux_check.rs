//! Living with the tool by hand: issue ids everywhere with suggestions on a
//! miss, `check` covering what `send` needs (the password variable, the
//! DKIM record, `--smtp` logging in without sending), config errors once
//! at their line with a did-you-mean, and `--help` with the exit codes.

use crate::harness::{repo_root, Run, Sandbox};
use crate::send::folder;
use crate::smtp_server::SmtpServer;

#[test]
fn an_issue_is_named_by_path_or_id_everywhere() {
    let sb = folder(1, 2, "");
    sb.run(&["check", "2026-w47"]).expect_code(0);
    sb.run(&["preview", "2026-w47"]).expect_code(0);
    assert!(sb.path("preview/2026-w47/message.eml").is_file());
    sb.run(&["send", "2026-w48", "--dry-run"]).expect_code(0);
    assert!(sb.path("outbox/2026-w48").is_dir());
    for args in [
        &["preview", "2026-w74"][..],
        &["send", "2026-w74", "--dry-run"],
        &["mark-sent", "2026-w74"],
    ] {
        let r = sb.run(args);
        r.expect_code(2);
        assert_eq!(
            crate::harness::unstamped(&r.stderr),
            "error: no issue with the id `2026-w74` in issues; closest: 2026-w47, 2026-w48\n",
            "{args:?}"
        );
    }
    let r = sb.run(&["status", "2026-w4"]);
    r.expect_code(2);
    assert_eq!(
        r.stderr,
        "error: no issue with the id `2026-w4` in issues; closest: 2026-w47, 2026-w48\n"
    );
}

#[test]
fn a_config_error_is_one_line_at_its_line_with_a_did_you_mean() {
    let sb = folder(1, 2, "rate_per_sec = 5\npassword = \"hunter2\"");
    for args in [
        &["check"][..],
        &["send", "2026-w47", "--dry-run"],
        &["preview", "2026-w47"],
    ] {
        let r = sb.run(args);
        r.expect_code(2);
        let text = crate::harness::unstamped(&r.stderr);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "one line per error, nothing else: {text}");
        assert_eq!(
            lines[0],
            "newsletter.toml:17:1: error: unknown key `rate_per_sec` in [smtp]; did you mean `rate_per_second`?"
        );
        assert!(lines[1].starts_with("newsletter.toml:18:1: error: `password`: secrets never go in newsletter.toml"));
        assert!(!text.contains("hunter2"));
    }
}

#[test]
fn a_bad_subject_template_is_reported_once_at_its_line() {
    let sb = folder(1, 2, "");
    let config = sb
        .read("newsletter.toml")
        .replace("max_age_days = 36500", "max_age_days = 36500\nsubject = \"{titel}\"");
    sb.write("newsletter.toml", config);
    let r = sb.run(&["check"]);
    r.expect_code(2);
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "once, not once per issue: {}", r.stderr);
    assert!(
        errors[0].starts_with("newsletter.toml:11:1: error: [newsletter] subject: unknown field `{titel}`"),
        "{}",
        errors[0]
    );
}

#[test]
fn check_smtp_logs_in_without_sending_and_check_wants_the_password() {
    let server = SmtpServer::builder().auth("weekly", "pw-check-7").start();
    let sb = folder(
        server.port(),
        2,
        "username = \"weekly\"\npassword_env = \"NL_CHECK_PW\"",
    );
    // Without the variable: a warning for check, an error for check --smtp.
    let r = sb.run(&["check"]);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains("newsletter.toml:18:1: warning: [smtp] password_env: NL_CHECK_PW is not set"),
        "{}",
        r.stderr
    );
    sb.run(&["check", "--smtp"]).expect_code(2);
    let mut c = sb.cmd(&["check", "--smtp"]);
    c.env("NL_CHECK_PW", "pw-check-7");
    let r = Run::from(c.output().unwrap());
    r.expect_code(0);
    let port = server.port();
    assert!(
        r.stdout.contains(&format!(
            "smtp: 127.0.0.1:{port} accepted the connection (no TLS, authenticated as weekly) in "
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("; nothing was sent"));
    assert_eq!(server.message_count(), 0);
    assert_eq!(server.connections(), 1);
    let mut c = sb.cmd(&["check", "--smtp"]);
    c.env("NL_CHECK_PW", "wrong-pw-s3cret");
    let r = Run::from(c.output().unwrap());
    r.expect_code(2);
    assert!(
        r.stderr
            .contains("newsletter.toml:17:1: error: SMTP AUTH: server replied 535"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret"));
}

#[test]
fn check_compares_the_dkim_key_with_its_dns_record() {
    let sb = folder(1, 2, "");
    let fixtures = repo_root().join("tests/integration/fixtures/dkim");
    let record = std::fs::read_to_string(fixtures.join("test-key.record")).unwrap();
    let dkim = |record: &str| {
        format!(
            "\n[dkim]\ndomain = \"example.com\"\nselector = \"weekly\"\nkey_file = \"{}\"\n{record}",
            fixtures.join("test-key.pem").display()
        )
    };
    let base = sb.read("newsletter.toml");
    sb.write("newsletter.toml", format!("{base}{}", dkim("")));
    let r = sb.run(&["check"]);
    r.expect_code(0);
    assert!(
        r.stdout.contains(&format!("dkim: publish this TXT record at weekly._domainkey.example.com (and set [dkim] dns_record to it, so check compares them): {}", record.trim())),
        "{}",
        r.stdout
    );
    sb.write(
        "newsletter.toml",
        format!("{base}{}", dkim(&format!("dns_record = \"{}\"\n", record.trim()))),
    );
    sb.run(&["check"]).expect_code(0);
    let other = record.trim().replacen("p=MIG", "p=MIH", 1);
    sb.write(
        "newsletter.toml",
        format!("{base}{}", dkim(&format!("dns_record = \"{other}\"\n"))),
    );
    let r = sb.run(&["check"]);
    r.expect_code(2);
    assert!(
        r.stderr
            .contains(": error: [dkim] dns_record: its public key is not the one of key_file "),
        "{}",
        r.stderr
    );
}

#[test]
fn a_domain_without_a_dot_warns_and_a_bad_address_reads_as_a_sentence() {
    let sb = folder(1, 0, "");
    sb.write(
        "subscribers/list.csv",
        "email,name\nlee@example,Lee\nann lee@example.com,Ann\n",
    );
    let r = sb.run(&["subscribers", "check"]);
    r.expect_code(2);
    assert!(
        r.stderr
            .contains("subscribers/list.csv:2:1: warning: \"lee@example\": the domain `example` has no dot"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("subscribers/list.csv:3:1: error: \"ann lee@example.com\" is not a valid email address: it contains a space"), "{}", r.stderr);
    let r = sb.run(&["send", "2026-w47", "--to", "me@@example.com", "--dry-run"]);
    r.expect_code(2);
    assert!(
        r.stderr
            .ends_with("error: --to: \"me@@example.com\" is not a valid email address: it has more than one @\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn help_lists_the_exit_codes_and_examples() {
    let sb = Sandbox::empty();
    let r = sb.run(&["--help"]);
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("Exit codes:\n  0  done, or nothing to do (also when max_per_hour")
            && r.stdout.contains("\n  4  another `send` holds the lock"),
        "{}",
        r.stdout
    );
    for cmd in [
        "init",
        "check",
        "preview",
        "send",
        "status",
        "mark-sent",
        "completions",
        "man",
    ] {
        let r = sb.run(&[cmd, "--help"]);
        r.expect_code(0);
        assert!(r.stdout.contains("\nExamples:\n  newsletter "), "{cmd}: {}", r.stdout);
    }
    let r = sb.run(&["completions", "bash"]);
    r.expect_code(0);
    assert!(r.stdout.contains("mark-sent") && r.stdout.contains("--from-hugo"));
    let r = sb.run(&["man", "--out", "man1"]);
    r.expect_code(0);
    let page = sb.read("man1/newsletter-send.1");
    assert!(page.contains(".TH newsletter-send 1") && page.contains("dry"), "{page}");
}

/// `check --smtp` over STARTTLS with a certificate the system trusts only
/// through SSL_CERT_FILE (as an operator would add a private CA): the
/// certificate is checked, then AUTH, then QUIT.
#[test]
fn check_smtp_speaks_starttls_and_checks_the_certificate() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    let server = SmtpServer::builder()
        .starttls(&cert, &key)
        .auth("weekly", "pw-tls-9")
        .start();
    let sb = folder(server.port(), 1, "");
    let config = sb
        .read("newsletter.toml")
        .replace("host = \"127.0.0.1\"", "host = \"localhost\"")
        .replace(
            "security = \"none\"",
            "security = \"starttls\"\nusername = \"weekly\"\npassword_env = \"NL_TLS_PW\"",
        );
    sb.write("newsletter.toml", config);
    let ca = sb.write("ca.pem", &cert);
    let run = |trust: bool| {
        let mut c = sb.cmd(&["check", "--smtp"]);
        c.env("NL_TLS_PW", "pw-tls-9");
        if trust {
            c.env("SSL_CERT_FILE", &ca);
        }
        Run::from(c.output().unwrap())
    };
    let untrusted = run(false);
    untrusted.expect_code(2);
    assert!(
        untrusted.stderr.contains(": error: SMTP TLS: TLS failed ("),
        "{}",
        untrusted.stderr
    );
    let trusted = run(true);
    trusted.expect_code(0);
    assert!(
        trusted.stdout.contains(&format!(
            "smtp: localhost:{} accepted the connection (STARTTLS, authenticated as weekly)",
            server.port()
        )),
        "{}",
        trusted.stdout
    );
    assert_eq!(server.message_count(), 0);
}
