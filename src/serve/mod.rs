//! `newsletter serve`: the public endpoint, meant to sit behind a reverse
//! proxy. Sign-ups with double opt-in (`/subscribe`, `/confirm`), RFC 8058
//! one-click unsubscribe (`/u`), and `/healthz`.
//!
//! Built for the open internet: hyper's strict HTTP/1 parser (it refuses
//! ambiguous Content-Length/Transfer-Encoding), a header-read timeout, a
//! header size cap (431), a body size cap (413), a timeout for the whole
//! request, a cap on open connections, and a per-client limit on sign-ups.
//! A GET never changes anything: mail scanners fetch every link.

mod client;
mod confirmation;
mod forms;
mod http;
mod pages;
mod signup;
mod store;
mod texts;
mod unsubscribe;

use crate::config::Config;
use crate::dkim::DkimKey;
use crate::keys::UnsubscribeKey;
use crate::output;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY: usize = 16 * 1024;
/// Request line and headers larger than this are refused with 431.
pub const MAX_HEAD: usize = 16 * 1024;
/// Time allowed to send the request line and headers (also the idle time
/// allowed between requests on a kept-alive connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the rest of a request: the body and our answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// A connection is closed after this long, whatever it does.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every request handler shares.
pub struct App {
    pub cfg: Arc<Config>,
    pub key: UnsubscribeKey,
    pages: pages::Pages,
    store: Arc<store::Store>,
    /// None: sign-ups are off (no `confirm_url`).
    mailer: Option<confirmation::Mailer>,
    limit: client::SignupLimit,
}

/// The client address of a request, put into its extensions by [`http`].
#[derive(Debug, Clone, Copy)]
pub struct Client(pub std::net::IpAddr);

/// A short note for the request's log line, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct Note(pub String);

/// Serves until the process is stopped (SIGINT/SIGTERM end it cleanly).
pub fn run(cfg: Config, key: UnsubscribeKey, dkim: Option<DkimKey>, listen: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let cfg = Arc::new(cfg);
        let t = texts::for_language(cfg.newsletter.language);
        let store = store::Store::open(cfg.paths.state.clone())?;
        let mailer = match cfg.serve.confirm_url {
            Some(_) => Some(confirmation::Mailer::start(
                Arc::clone(&cfg),
                t,
                dkim,
                Arc::clone(&store),
            )?),
            None => {
                output::warn("sign-ups are off: set [serve] confirm_url or [newsletter] unsubscribe_url");
                None
            }
        };
        let app = Arc::new(App {
            key,
            pages: pages::Pages {
                t,
                list_name: cfg.newsletter.name.clone(),
            },
            store,
            mailer,
            limit: client::SignupLimit::per_hour(cfg.serve.subscribe_per_hour),
            cfg,
        });
        housekeeping(Arc::clone(&app));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        output::log(&format!("listening on http://{}/", listener.local_addr()?));
        http::serve(listener, router(Arc::clone(&app)), app).await
    })
}

/// The routes and the layers every response passes through.
pub fn router(app: Arc<App>) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    let header = |name, value: &'static str| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    Router::new()
        .route("/subscribe", get(signup::form).post(signup::subscribe))
        .route("/confirm", get(signup::confirm_page).post(signup::confirm))
        .route("/u", get(unsubscribe::show).post(unsubscribe::one_click))
        .route("/healthz", get(healthz))
        .fallback(unsubscribe::fallback)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::CACHE_CONTROL, "no-store"))
        .with_state(app)
}

/// 200 when the state database is in place and readable, else 503.
async fn healthz(axum::extract::State(app): axum::extract::State<Arc<App>>) -> Response {
    let check = app
        .store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM suppression", [], |r| r.get::<_, i64>(0))?))
        .await;
    match check {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            let mut r = (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response();
            r.extensions_mut().insert(Note(e.0));
            r
        }
    }
}

/// An HTML page with a status and a log note.
fn page(status: StatusCode, html: String, note: impl Into<String>) -> Response {
    let mut r = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    r.extensions_mut().insert(Note(note.into()));
    r
}

/// Reads the form of a POST (urlencoded or multipart); the body is size-capped by the router.
pub(crate) async fn read_form(req: axum::extract::Request) -> Result<forms::Form, Response> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut too_big = false;
            while let Some(c) = cause {
                too_big |= c.is::<http_body_util::LengthLimitError>();
                cause = c.source();
            }
            let status = if too_big {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return Err((status, "could not read the request body\n").into_response());
        }
    };
    forms::Form::from_body(ct.as_deref(), body)
        .await
        .ok_or_else(|| (StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected a form\n").into_response())
}

/// The 503 page for a change that could not be stored; the log says why.
fn unavailable(app: &App, why: store::Unavailable) -> Response {
    let t = app.pages.t;
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        app.pages.message(t.unavailable_title, t.unavailable),
        format!("NOT STORED: {}", why.0),
    )
}

/// Hourly: forget expired confirmation tokens, stale pending sign-ups and
/// idle rate-limit entries.
fn housekeeping(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            app.limit.prune();
            let purged = app
                .store
                .write(|c| crate::state::signups::purge(c, chrono::Utc::now()))
                .await;
            match purged {
                Ok(0) => {}
                Ok(n) => output::log(&format!("forgot {n} sign-up(s) never confirmed")),
                Err(e) => output::warn(&log_safe(&e.0)),
            }
        }
    });
}

/// Text from a request made safe for a log line: control characters (and
/// bidirectional overrides, which can make a line read differently) are
/// written as `\u{…}` escapes, so nobody can forge or hide log lines.
pub fn log_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi || c == '\\' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_cannot_be_forged() {
        assert_eq!(
            super::log_safe("a\r\n2026-01-01T00:00:00Z POST /u 200 unsubscribed x\u{1b}[31m\u{202E}z\\"),
            "a\\u{d}\\u{a}2026-01-01T00:00:00Z POST /u 200 unsubscribed x\\u{1b}[31m\\u{202e}z\\u{5c}"
        );
        assert_eq!(super::log_safe("김민지 <ann@example.com>"), "김민지 <ann@example.com>");
    }
}
