//! The one-click unsubscribe endpoint over real HTTP on loopback: the binary
//! `serve` (and its alias `serve-unsubscribe`) is started, spoken to with a
//! plain TcpStream, and stopped by killing its PID.

use crate::harness::Sandbox;
use crate::http_client::{multipart, Server};
use crate::subscribers::with_files;
use newsletter::state::{self, suppression};
use std::sync::Arc;

const KEY: &[u8] = b"test-secret-key-0123456789";
const LIST_ID: &str = "weekly.example.com";

fn token(email: &str) -> String {
    newsletter::token::make(KEY, LIST_ID, email)
}

const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

fn list(sb: &Sandbox) -> String {
    sb.run(&["subscribers", "list"]).stdout
}

#[test]
fn get_shows_a_button_and_one_click_post_unsubscribes() {
    let sb = with_files(&[(
        "list.csv",
        "email,name\nann@example.com,Ann\nbob@example.com,Bob\n".as_bytes(),
    )]);
    // The old command name still works.
    let server = Server::start_as(&sb, "serve-unsubscribe");
    let t = token("bob@example.com");

    let r = server.request("GET", &format!("/u?token={t}"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<form method=\"post\">\n<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("b••@example.com"),
        "the page names the address, masked: {}",
        r.body
    );
    assert!(!r.body.contains("bob@"), "{}", r.body);
    assert_eq!(r.header("content-security-policy"), Some("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    let head = server.request("HEAD", &format!("/u?token={t}"), "");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(
        list(&sb),
        "Ann <ann@example.com>\nBob <bob@example.com>\n",
        "a GET must not unsubscribe"
    );

    let r = server.request("POST", &format!("/u?token={t}"), "");
    assert_eq!(r.status, 400, "POST without the one-click body: {}", r.body);
    assert_eq!(list(&sb), "Ann <ann@example.com>\nBob <bob@example.com>\n");

    let r = server.request("POST", &format!("/u?token={t}"), ONE_CLICK);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(list(&sb), "Ann <ann@example.com>\n");
    let conn = state::open(&sb.path("state")).unwrap();
    let s = suppression::get(&conn, "bob@example.com").unwrap().unwrap();
    assert_eq!(
        (s.reason, s.source.as_str()),
        (suppression::Reason::Unsubscribed, "one-click")
    );

    // Any path with a token works (proxies set up for the old endpoint), and repeating is harmless.
    let r = server.request("POST", &format!("/elsewhere/unsub?x=1&token={t}"), ONE_CLICK);
    assert_eq!(r.status, 200);

    let log = server.log();
    assert!(
        log.contains("POST /u 200 ") && log.contains("unsubscribed bob@example.com"),
        "{log}"
    );
    assert!(!log.contains(&t), "the token must not be logged:\n{log}");
}

#[test]
fn multipart_one_click_and_tokens_already_sent_in_the_old_format() {
    let sb = with_files(&[(
        "list.csv",
        "email\nann@example.com\nbob@example.com\ncy@example.com\n".as_bytes(),
    )]);
    let server = Server::start(&sb);
    let (ct, body) = multipart("List-Unsubscribe", "One-Click");
    let r = server.request_with(
        "POST",
        &format!("/u?token={}", token("ann@example.com")),
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 200, "multipart/form-data one-click: {}", r.body);
    // A v1 token (the address readable inside), as in messages sent before v2.
    let old = newsletter::token::make_v1(KEY, LIST_ID, "bob@example.com");
    assert!(old.contains('.'));
    let r = server.request("POST", &format!("/u?token={old}"), ONE_CLICK);
    assert_eq!(r.status, 200, "v1 token: {}", r.body);
    let (ct, body) = multipart("List-Unsubscribe", "Nope");
    let r = server.request_with(
        "POST",
        &format!("/u?token={}", token("cy@example.com")),
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(r.status, 400);
    assert_eq!(list(&sb), "cy@example.com\n");
}

#[test]
fn tampered_tokens_are_refused_without_detail() {
    let sb = with_files(&[(
        "list.csv",
        "email,name\nann@example.com,Ann\nbob@example.com,Bob\n".as_bytes(),
    )]);
    let server = Server::start(&sb);
    let old = newsletter::token::make_v1(KEY, LIST_ID, "bob@example.com");
    let (_, mac) = old.split_once('.').unwrap();
    use base64::Engine;
    let ann = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("ann@example.com");
    let swapped = format!("{ann}.{mac}");
    let forged = newsletter::token::make(b"guessed key of some length", LIST_ID, "ann@example.com");
    let other_list = newsletter::token::make(KEY, "other.example.com", "ann@example.com");
    let mut flipped = token("ann@example.com").into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        swapped.as_str(),
        forged.as_str(),
        other_list.as_str(),
        flipped.as_str(),
        "",
        "garbage",
    ] {
        for method in ["GET", "POST"] {
            let r = server.request(method, &format!("/u?token={bad}"), ONE_CLICK);
            assert_eq!(r.status, 400, "{method} {bad}: {}", r.body);
            assert!(!r.body.contains("example.com"), "no detail leaked: {}", r.body);
        }
    }
    let r = server.request("POST", "/u", ONE_CLICK);
    assert_eq!(r.status, 400, "no token at all");
    assert_eq!(list(&sb), "Ann <ann@example.com>\nBob <bob@example.com>\n");
}

#[test]
fn concurrent_posts_land_while_another_process_writes() {
    let mut csv = String::from("email\n");
    for i in 0..20 {
        csv.push_str(&format!("web{i}@example.com\ncli{i}@example.com\n"));
    }
    let sb = Arc::new(with_files(&[("list.csv", csv.as_bytes())]));
    let server = Arc::new(Server::start(&sb));

    // Another process writes the same database meanwhile.
    let cli = {
        let sb = Arc::clone(&sb);
        std::thread::spawn(move || {
            for i in 0..20 {
                sb.run(&["unsubscribe", &format!("cli{i}@example.com")]).expect_code(0);
            }
        })
    };
    let posts: Vec<_> = (0..20)
        .map(|i| {
            let server = Arc::clone(&server);
            std::thread::spawn(move || {
                let t = token(&format!("web{i}@example.com"));
                let r = server.request("POST", &format!("/u?token={t}"), ONE_CLICK);
                (r.status, r.body)
            })
        })
        .collect();
    for (i, p) in posts.into_iter().enumerate() {
        let (status, page) = p.join().unwrap();
        assert_eq!(status, 200, "POST {i}: {page}");
    }
    cli.join().unwrap();

    let conn = state::open(&sb.path("state")).unwrap();
    let set = suppression::suppressed_set(&conn).unwrap();
    for i in 0..20 {
        assert!(set.contains(&format!("web{i}@example.com")), "web{i} missing");
        assert!(set.contains(&format!("cli{i}@example.com")), "cli{i} missing");
    }
    assert_eq!(sb.run(&["subscribers", "count"]).stdout, "0\n");
}

#[test]
fn serve_refuses_to_start_without_a_key_or_with_a_short_one() {
    let sb = with_files(&[("list.csv", b"email\nann@example.com\n")]);
    let out = sb
        .cmd(&["serve-unsubscribe", "--listen", "127.0.0.1:0"])
        .env_remove("NEWSLETTER_UNSUBSCRIBE_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(": error: unsubscribe_url is set but NEWSLETTER_UNSUBSCRIBE_SECRET is not\n"),
        "{stderr}"
    );
    // Without an unsubscribe_url the endpoint still needs the key to check tokens.
    let cfg = sb.read("newsletter.toml");
    let cfg: String = cfg
        .lines()
        .filter(|l| !l.starts_with("unsubscribe_url"))
        .map(|l| format!("{l}\n"))
        .collect();
    sb.write("newsletter.toml", cfg);
    let out = sb
        .cmd(&["serve-unsubscribe", "--listen", "127.0.0.1:0"])
        .env_remove("NEWSLETTER_UNSUBSCRIBE_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: NEWSLETTER_UNSUBSCRIBE_SECRET is not set; it holds the key that signs unsubscribe tokens"
        ),
        "{stderr}"
    );
    // Every command that uses the key refuses one shorter than 128 bits.
    let ex = Sandbox::example();
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["unsubscribe", "--token", "x"],
        &["send", "issues/2026-w47.md", "--dry-run"],
        &["preview", "issues/2026-w47.md"],
        &["check"],
    ] {
        let out = ex
            .cmd(args)
            .env("NEWSLETTER_UNSUBSCRIBE_SECRET", "fifteen-bytes!!")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("NEWSLETTER_UNSUBSCRIBE_SECRET is only 15 bytes long; use at least 16 (128 bits)"),
            "{args:?}: {stderr}"
        );
    }
}
