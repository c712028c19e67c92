//! The one-click unsubscribe endpoint over real HTTP on loopback: the binary
//! `serve-unsubscribe` is started, spoken to with a plain TcpStream, and
//! stopped by killing its PID.

use crate::harness::Sandbox;
use crate::subscribers::with_files;
use newsletter::state::{self, suppression};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &[u8] = b"test-secret-key-0123456789";
const LIST_ID: &str = "weekly.example.com";

/// A running `serve-unsubscribe`; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(sb: &Sandbox) -> Server {
        let mut child = sb
            .cmd(&["serve-unsubscribe", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start serve-unsubscribe");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('/').parse::<SocketAddr>().unwrap());
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("server did not start; stderr:\n{}", log.lock().unwrap())
        });
        Server { child, addr, log }
    }

    /// Sends one request; returns the status code and the body.
    fn request(&self, method: &str, target: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(req.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let server = Server::start(&sb);
    let t = token("bob@example.com");

    let (status, page) = server.request("GET", &format!("/u?token={t}"), "");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("<form method=\"post\" action=\"?token={t}\">")),
        "{page}"
    );
    assert!(
        page.contains("<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"),
        "{page}"
    );
    assert!(page.contains("bob@example.com"), "{page}");
    assert_eq!(
        list(&sb),
        "Ann <ann@example.com>\nBob <bob@example.com>\n",
        "a GET must not unsubscribe"
    );

    let (status, page) = server.request("POST", &format!("/u?token={t}"), "");
    assert_eq!(status, 400, "POST without the one-click body: {page}");
    assert_eq!(list(&sb), "Ann <ann@example.com>\nBob <bob@example.com>\n");

    let (status, page) = server.request("POST", &format!("/u?token={t}"), ONE_CLICK);
    assert_eq!(status, 200, "{page}");
    assert_eq!(list(&sb), "Ann <ann@example.com>\n");
    let conn = state::open(&sb.path("state")).unwrap();
    let s = suppression::get(&conn, "bob@example.com").unwrap().unwrap();
    assert_eq!(
        (s.reason, s.source.as_str()),
        (suppression::Reason::Unsubscribed, "one-click")
    );

    // Any path works (the reverse proxy decides), and repeating is harmless.
    let (status, _) = server.request("POST", &format!("/elsewhere/unsub?x=1&token={t}"), ONE_CLICK);
    assert_eq!(status, 200);

    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("POST /u 200 unsubscribed bob@example.com"), "{log}");
    assert!(!log.contains(&t), "the token must not be logged:\n{log}");
}

#[test]
fn tampered_tokens_are_refused_without_detail() {
    let sb = with_files(&[(
        "list.csv",
        "email,name\nann@example.com,Ann\nbob@example.com,Bob\n".as_bytes(),
    )]);
    let server = Server::start(&sb);
    let good = token("bob@example.com");
    let (_, mac) = good.split_once('.').unwrap();
    use base64::Engine;
    let ann = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("ann@example.com");
    let swapped = format!("{ann}.{mac}");
    let forged = newsletter::token::make(b"guessed key", LIST_ID, "ann@example.com");
    let other_list = newsletter::token::make(KEY, "other.example.com", "ann@example.com");
    for bad in [swapped.as_str(), forged.as_str(), other_list.as_str(), "", "garbage"] {
        for method in ["GET", "POST"] {
            let (status, page) = server.request(method, &format!("/u?token={bad}"), ONE_CLICK);
            assert_eq!(status, 400, "{method} {bad}: {page}");
            assert!(!page.contains("example.com"), "no detail leaked: {page}");
        }
    }
    let (status, _) = server.request("POST", "/u", ONE_CLICK);
    assert_eq!(status, 400, "no token at all");
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
                server.request("POST", &format!("/u?token={t}"), ONE_CLICK)
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
fn serve_refuses_to_start_without_a_key() {
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
}
