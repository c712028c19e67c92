//! `newsletter serve` end to end: sign-up over HTTP → the confirmation
//! message arrives at a real SMTP server (in-process, over TCP) → GET of the
//! confirm link changes nothing → POST confirms → `subscribers count` and
//! `send --dry-run` include the reader → one-click unsubscribe removes them.

use crate::harness::Sandbox;
use crate::http_client::{multipart, Server};
use crate::send::folder;
use crate::smtp_server::SmtpServer;
use mail_parser::MessageParser;
use newsletter::state::{self, signups};
use std::time::Duration;

/// A folder with two file subscribers, pointing at `smtp_port`, with `serve_extra` in `[serve]`.
fn sandbox(smtp_port: u16, serve_extra: &str) -> Sandbox {
    let sb = folder(smtp_port, 2, "");
    let cfg = sb.read("newsletter.toml");
    sb.write("newsletter.toml", format!("{cfg}\n[serve]\n{serve_extra}\n"));
    sb
}

fn count(sb: &Sandbox) -> String {
    sb.run(&["subscribers", "count"]).expect_code(0).stdout.clone()
}

/// The link in the text part of a confirmation message.
fn confirm_link(raw: &[u8]) -> String {
    let msg = MessageParser::default().parse(raw).unwrap();
    let text = msg.body_text(0).unwrap();
    let url = text
        .lines()
        .find(|l| l.starts_with("https://"))
        .expect("a link")
        .trim()
        .to_string();
    url.strip_prefix("https://example.com")
        .expect("the link sits beside unsubscribe_url")
        .to_string()
}

/// Signs up through a trusted proxy (X-Forwarded-For) and returns the
/// confirmation link's path and the page shown.
fn sign_up(server: &Server, smtp: &SmtpServer) -> (String, String) {
    let form = server.request("GET", "/subscribe", "");
    assert_eq!(form.status, 200);
    for needle in [
        "<form method=\"post\">",
        "<label for=\"email\">Email address</label>",
        "type=\"email\" id=\"email\" name=\"email\"",
        "id=\"name\" name=\"name\"",
        "name=\"website\" tabindex=\"-1\"",
    ] {
        assert!(form.body.contains(needle), "{needle}: {}", form.body);
    }
    let xff = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Forwarded-For", "198.51.100.23"),
    ];
    let body = b"email=New.Reader%40example.net&name=%EA%B9%80%EB%AF%BC%EC%A7%80";
    let r = server.request_with("POST", "/subscribe", &xff, body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Check your inbox"), "{}", r.body);
    assert!(
        smtp.wait_for(1, Duration::from_secs(20)),
        "no confirmation message; log:\n{}",
        server.log()
    );
    let msg = &smtp.messages()[0];
    assert_eq!(msg.to, ["New.Reader@example.net"]);
    assert_eq!(msg.from, "bounces@example.com");
    let parsed = MessageParser::default().parse(&msg.data).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Confirm your subscription to Field Notes Weekly")
    );
    assert!(parsed.body_text(0).unwrap().starts_with("Hello 김민지,"));
    let link = confirm_link(&msg.data);
    assert!(link.starts_with("/confirm?token="), "{link}");

    // Asking again within the hour: the same answer, no second message.
    let again = server.request_with("POST", "/subscribe", &xff, body);
    assert_eq!((again.status, &again.body), (200, &r.body));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.message_count(), 1, "a repeated sign-up must not send again");
    (link, r.body)
}

/// The dry run's message to the new reader, and the token of its one-click link.
fn dry_run_token(sb: &Sandbox) -> String {
    sb.run(&["send", "issues/2026-w47.md", "--dry-run"]).expect_code(0);
    let eml = std::fs::read(sb.path("outbox/2026-w47/new.reader@example.net.eml"))
        .or_else(|_| std::fs::read(sb.path("outbox/2026-w47/New.Reader@example.net.eml")))
        .expect("the dry run wrote a message for the new reader");
    let parsed = MessageParser::default().parse(&eml).unwrap();
    let lu = parsed.header_raw("List-Unsubscribe").unwrap();
    let token = lu
        .split("token=")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_string();
    assert!(!token.contains('.'), "a v2 token: {token}");
    token
}

#[test]
fn signup_confirm_send_and_one_click_end_to_end() {
    let smtp = SmtpServer::start();
    let sb = sandbox(smtp.port(), "record_ip = true");
    let server = Server::start(&sb);
    assert_eq!(count(&sb), "2\n");
    let (link, _) = sign_up(&server, &smtp);

    // A link scanner's GET changes nothing.
    let page = server.request("GET", &link, "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<button type=\"submit\">Yes, subscribe me</button>"),
        "{}",
        page.body
    );
    assert_eq!(count(&sb), "2\n", "GET /confirm must not confirm");

    let done = server.request_with("POST", &link, &[("X-Forwarded-For", "203.0.113.5")], b"");
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You are subscribed"), "{}", done.body);
    assert_eq!(count(&sb), "3\n");
    let list = sb.run(&["subscribers", "list"]).stdout;
    assert!(list.contains("김민지 <New.Reader@example.net>"), "{list}");

    // Proof of consent, with the client addresses (record_ip = true).
    let conn = state::open(&sb.path("state")).unwrap();
    let row = signups::all(&conn).unwrap().pop().unwrap();
    assert_eq!(
        (row.email.as_str(), row.source.as_str(), row.confirmed),
        ("new.reader@example.net", "form", true)
    );
    assert_eq!(row.request_ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(row.confirm_ip.as_deref(), Some("203.0.113.5"));
    assert!(row.confirmed_at.is_some());

    // The next send includes them, with an opaque one-click link that works.
    let token = dry_run_token(&sb);
    let (ct, mp) = multipart("List-Unsubscribe", "One-Click");
    let gone = server.request_with("POST", &format!("/u?token={token}"), &[("Content-Type", &ct)], &mp);
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(count(&sb), "2\n", "one-click removed them");

    let export = sb.run(&["subscribers", "export"]).expect_code(0).stdout.clone();
    assert!(
        export.contains("New.Reader@example.net,김민지,unsubscribed,sign-up (form),"),
        "{export}"
    );
    assert!(
        server.log_has("unsubscribed new.reader@example.net"),
        "{}",
        server.log()
    );
    let log = server.log();
    assert!(
        !log.contains(&token) && !log.contains(&link[15..]),
        "tokens never reach the log:\n{log}"
    );
}

#[test]
fn the_answer_never_tells_whether_an_address_is_subscribed() {
    let smtp = SmtpServer::start();
    let sb = sandbox(smtp.port(), "");
    sb.run(&["subscribers", "add", "member@example.net"]).expect_code(0);
    let server = Server::start(&sb);
    let member = server.request("POST", "/subscribe", "email=member%40example.net");
    let stranger = server.request("POST", "/subscribe", "email=stranger%40example.net");
    assert_eq!((member.status, stranger.status), (200, 200));
    assert_eq!(member.body, stranger.body);
    assert!(smtp.wait_for(1, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    let to: Vec<Vec<String>> = smtp.messages().into_iter().map(|m| m.to).collect();
    assert_eq!(
        to,
        [["stranger@example.net"]],
        "only the new address gets a confirmation"
    );
}

#[test]
fn honeypot_bad_input_forged_tokens_and_rate_limit() {
    let smtp = SmtpServer::start();
    let sb = sandbox(smtp.port(), "subscribe_per_hour = 3");
    let server = Server::start(&sb);
    let bot = server.request(
        "POST",
        "/subscribe",
        "email=bot%40example.net&website=http%3A%2F%2Fspam",
    );
    assert_eq!(bot.status, 200, "a bot is told nothing");
    let bad = server.request("POST", "/subscribe", "email=%22%3E%3Cscript%3Ex&name=%3Cb%3EAnn");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("role=\"alert\""), "{}", bad.body);
    assert!(
        !bad.body.contains("<script>") && !bad.body.contains("<b>"),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("&#34;&#62;&#60;script&#62;x"),
        "the input is kept, escaped: {}",
        bad.body
    );
    for forged in ["/confirm?token=AAAA", "/confirm", "/confirm?token="] {
        assert_eq!(server.request("GET", forged, "").status, 400, "{forged}");
        assert_eq!(server.request("POST", forged, "").status, 400, "{forged}");
    }
    // Three requests so far from 127.0.0.1 (no X-Forwarded-For): the fourth is refused.
    let third = server.request("POST", "/subscribe", "email=ok%40example.net");
    assert_eq!(third.status, 200);
    let fourth = server.request("POST", "/subscribe", "email=ok2%40example.net");
    assert_eq!(fourth.status, 429, "{}", fourth.body);
    assert_eq!(fourth.header("retry-after"), Some("600"));
    let other = server.request_with(
        "POST",
        "/subscribe",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Forwarded-For", "192.0.2.77"),
        ],
        b"email=ok3%40example.net",
    );
    assert_eq!(other.status, 200, "another client is not limited");
    assert!(smtp.wait_for(2, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    let mut to: Vec<String> = smtp.messages().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    assert_eq!(
        to,
        ["ok3@example.net", "ok@example.net"],
        "no mail for the bot or the refused request"
    );
    let conn = state::open(&sb.path("state")).unwrap();
    let rows = signups::all(&conn).unwrap();
    assert_eq!(rows.len(), 2, "the bot was not recorded");
    assert!(
        rows.iter().all(|r| r.request_ip.is_none()),
        "client addresses are kept only with record_ip = true"
    );
}

#[test]
fn pages_in_korean() {
    let smtp = SmtpServer::start();
    let sb = sandbox(smtp.port(), "");
    let cfg = sb
        .read("newsletter.toml")
        .replace("[newsletter]\n", "[newsletter]\nlanguage = \"ko\"\n");
    sb.write("newsletter.toml", cfg);
    let server = Server::start(&sb);
    let form = server.request("GET", "/subscribe", "");
    assert!(form.body.contains("<html lang=\"ko\">"), "{}", form.body);
    assert!(
        form.body.contains("<label for=\"email\">이메일 주소</label>"),
        "{}",
        form.body
    );
    let r = server.request("POST", "/subscribe", "email=minji%40example.net");
    assert!(r.body.contains("메일함을 확인해 주세요"), "{}", r.body);
    assert!(smtp.wait_for(1, Duration::from_secs(20)));
    let messages = smtp.messages();
    let parsed = MessageParser::default().parse(&messages[0].data).unwrap();
    assert_eq!(parsed.subject(), Some("Field Notes Weekly 구독을 확인해 주세요"));
}

#[test]
fn a_failed_confirmation_can_be_asked_for_again_at_once() {
    // No SMTP server on this port: the first confirmation cannot go out.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = sandbox(port, "");
    let server = Server::start(&sb);
    assert_eq!(
        server.request("POST", "/subscribe", "email=late%40example.net").status,
        200
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !server.log().contains("confirmation to late@example.net not sent") {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let conn = state::open(&sb.path("state")).unwrap();
    let hash_count: i64 = conn
        .query_row("SELECT count(*) FROM confirm_token", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hash_count, 0, "the unsent token was forgotten");
    let _ = server.request("POST", "/subscribe", "email=late%40example.net");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while server
        .log()
        .matches("confirmation to late@example.net not sent")
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "a retry must try again: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
