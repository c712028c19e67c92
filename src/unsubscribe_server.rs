//! The RFC 8058 one-click unsubscribe HTTP endpoint (`serve-unsubscribe`).
//!
//! A POST with `List-Unsubscribe=One-Click` in the body and a valid `token`
//! in the query string suppresses the token's address. A GET only shows a
//! page with a button that makes that POST: mail scanners follow links, so a
//! GET must never unsubscribe. Any path is accepted, so a reverse proxy can
//! mount the endpoint wherever `unsubscribe_url` points.

use crate::config::Config;
use crate::output;
use crate::state::{self, suppression};
use anyhow::Context;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Request bodies larger than this are not read further.
const MAX_BODY: u64 = 16 * 1024;
const WORKERS: usize = 4;

/// What the endpoint needs to know, shared by the worker threads.
pub struct Endpoint {
    pub key: Vec<u8>,
    pub list_id: String,
    pub list_name: String,
}

/// The answer to one request, and a short note for the log line.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub html: String,
    pub note: String,
}

/// Decides the reply to one request. `suppress` is called with the address
/// for a valid one-click POST and returns whether it was newly suppressed.
pub fn handle(
    ep: &Endpoint,
    method: &str,
    url: &str,
    body: &[u8],
    suppress: &mut dyn FnMut(&str) -> anyhow::Result<bool>,
) -> Reply {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let token = form_value(query, "token");
    let email = token
        .as_deref()
        .and_then(|t| crate::token::verify(&ep.key, &ep.list_id, t));
    let name = crate::render::escape_html(&ep.list_name);
    let bad = |note: &str| Reply {
        status: 400,
        html: page(
            "Invalid link",
            "<p>This unsubscribe link is not valid. Use the link from the most recent message.</p>",
        ),
        note: note.to_string(),
    };
    match (method, email) {
        ("GET" | "HEAD", None) => bad("bad token"),
        ("POST", None) => bad("bad token"),
        ("GET" | "HEAD", Some(email)) => {
            let token = crate::render::escape_html(token.as_deref().unwrap_or(""));
            let body = format!(
                "<p>Stop sending <strong>{name}</strong> to <strong>{}</strong>?</p>\n\
                 <form method=\"post\" action=\"?token={token}\">\n\
                 <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n\
                 <button type=\"submit\">Unsubscribe</button>\n</form>",
                crate::render::escape_html(&email)
            );
            Reply {
                status: 200,
                html: page("Unsubscribe", &body),
                note: "page shown".into(),
            }
        }
        ("POST", Some(email)) => {
            let body = String::from_utf8_lossy(body);
            if form_value(&body, "List-Unsubscribe").as_deref() != Some("One-Click") {
                return Reply {
                    status: 400,
                    html: page("Bad request", "<p>The request did not ask to unsubscribe.</p>"),
                    note: "POST without List-Unsubscribe=One-Click".into(),
                };
            }
            match suppress(&email) {
                Ok(new) => Reply {
                    status: 200,
                    html: page(
                        "Unsubscribed",
                        &format!(
                            "<p><strong>{}</strong> will not receive <strong>{name}</strong> any more.</p>",
                            crate::render::escape_html(&email)
                        ),
                    ),
                    note: format!("{} {email}", if new { "unsubscribed" } else { "already suppressed" }),
                },
                Err(e) => Reply {
                    status: 500,
                    html: page("Error", "<p>Something went wrong. Please try again later.</p>"),
                    note: format!("error for {email}: {e:#}"),
                },
            }
        }
        _ => Reply {
            status: 405,
            html: page("Method not allowed", "<p>Method not allowed.</p>"),
            note: "method not allowed".into(),
        },
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem\">\n\
         <h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

/// The first value of `name` in an `application/x-www-form-urlencoded` string.
fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k.trim()) == name).then(|| percent_decode(v.trim()))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'%' if i + 2 < bytes.len() => hex(bytes[i + 1]).zip(hex(bytes[i + 2])).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Serves the endpoint on `listen` until the process is stopped. Each worker
/// thread has its own database connection; WAL and the busy timeout let
/// them write while a `send` runs.
pub fn serve(cfg: &Config, key: Vec<u8>, listen: &str) -> anyhow::Result<()> {
    let state_dir: PathBuf = cfg.paths.state.clone();
    // Open once up front: creates and migrates the database, and fails early.
    drop(state::open(&state_dir)?);
    let server = tiny_http::Server::http(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let server = Arc::new(server);
    let ep = Arc::new(Endpoint {
        key,
        list_id: cfg.newsletter.list_id.clone(),
        list_name: cfg.newsletter.name.clone(),
    });
    output::log(&format!("listening on http://{}/", server.server_addr()));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (server, ep, state_dir) = (Arc::clone(&server), Arc::clone(&ep), state_dir.clone());
        let conn = state::open(&state_dir)?;
        workers.push(std::thread::spawn(move || loop {
            match server.recv() {
                Ok(req) => respond(&ep, &conn, req),
                Err(e) => output::warn(&format!("serve-unsubscribe: {e}")),
            }
        }));
    }
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
    }
    Ok(())
}

fn respond(ep: &Endpoint, conn: &rusqlite::Connection, mut req: tiny_http::Request) {
    let method = req.method().as_str().to_ascii_uppercase();
    let url = req.url().to_string();
    let mut body = Vec::new();
    if method == "POST" {
        let _ = req.as_reader().take(MAX_BODY).read_to_end(&mut body);
    }
    let mut suppress = |email: &str| suppression::suppress(conn, email, suppression::Reason::Unsubscribed, "one-click");
    let reply = handle(ep, &method, &url, &body, &mut suppress);
    // The query string holds the token: log the path only.
    let path = url.split('?').next().unwrap_or("");
    let remote = req
        .remote_addr()
        .map_or_else(|| "-".to_string(), |a| a.ip().to_string());
    output::log(&format!("{remote} {method} {path} {} {}", reply.status, reply.note));
    let headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    ];
    let mut response = tiny_http::Response::from_string(reply.html).with_status_code(reply.status);
    for (name, value) in headers {
        response = response.with_header(tiny_http::Header::from_bytes(name, value).expect("static header is valid"));
    }
    if let Err(e) = req.respond(response).context("writing the response") {
        output::debug(&format!("serve-unsubscribe: {e:#}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            key: b"k".to_vec(),
            list_id: "l".into(),
            list_name: "<script>alert(1)</script> & Co".into(),
        }
    }

    fn run(method: &str, url: &str, body: &str) -> (Reply, Vec<String>) {
        let mut calls = Vec::new();
        let reply = handle(&endpoint(), method, url, body.as_bytes(), &mut |e| {
            calls.push(e.to_string());
            Ok(true)
        });
        (reply, calls)
    }

    #[test]
    fn get_never_suppresses_and_escapes_everything() {
        let t = crate::token::make(b"k", "l", "o'brien+<x>@example.com");
        let (reply, calls) = run("GET", &format!("/u?token={t}"), "");
        assert_eq!(reply.status, 200);
        assert!(calls.is_empty());
        assert!(
            reply.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
            "{}",
            reply.html
        );
        assert!(
            reply.html.contains("o&#39;brien+&lt;x&gt;@example.com"),
            "{}",
            reply.html
        );
        assert!(!reply.html.contains("<script>"), "{}", reply.html);
    }

    #[test]
    fn one_click_post_suppresses_the_token_address_only() {
        let t = crate::token::make(b"k", "l", "Ann@Example.com");
        let (reply, calls) = run("POST", &format!("/u?a=b&token={t}"), "List-Unsubscribe=One-Click");
        assert_eq!((reply.status, calls), (200, vec!["ann@example.com".to_string()]));
        // Percent-encoded body, as some clients send it.
        let (reply, _) = run("POST", &format!("/u?token={t}"), "List-Unsubscribe=One%2DClick");
        assert_eq!(reply.status, 200);
        let (reply, calls) = run("POST", &format!("/u?token={t}"), "List-Unsubscribe=Nope");
        assert_eq!((reply.status, calls.len()), (400, 0));
        let (reply, calls) = run("POST", "/u?token=x.y", "List-Unsubscribe=One-Click");
        assert_eq!((reply.status, calls.len(), reply.note.as_str()), (400, 0, "bad token"));
        let (reply, _) = run("DELETE", &format!("/u?token={t}"), "");
        assert_eq!(reply.status, 405);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Db+c%zz%4"), "a-b c%zz%4");
        assert_eq!(form_value("x=1&token=abc.def", "token").as_deref(), Some("abc.def"));
        assert_eq!(form_value("tokens=1", "token"), None);
    }
}
