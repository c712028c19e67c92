//! The accept loop: one hyper HTTP/1 connection per socket, with the limits
//! that keep slow or hostile clients from holding the server: at most
//! `[serve] max_connections` open (more are answered 503 and closed), a
//! header-read timeout (slowloris), a header buffer cap (431), and a
//! lifetime per connection. One log line per request.
//!
//! Framing is hyper's, and strict: differing repeated Content-Length values,
//! a Transfer-Encoding that does not end in `chunked`, or one on HTTP/1.0 are
//! refused with 400; with both Content-Length and Transfer-Encoding the
//! chunked framing wins and the connection is closed after the answer (RFC
//! 9112 §6.1), so nothing smuggled after the body is ever read as a request.

use super::{client, log_safe, App, Client, Note, CONNECTION_LIFETIME, HEADER_TIMEOUT, MAX_HEAD};
use crate::output;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Accepts connections until SIGINT or SIGTERM.
pub async fn serve(listener: TcpListener, router: Router, app: Arc<App>) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(app.cfg.serve.max_connections));
    let last_full_warning = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut stop = std::pin::pin!(stop_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, do not spin.
                    output::warn(&format!("accept: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => {
                output::log("stopping");
                return Ok(());
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            let now = started.elapsed().as_secs() + 1;
            let previous = last_full_warning.load(Ordering::Relaxed);
            // At most one warning every 10 s (0: never warned yet).
            if previous == 0 || previous + 10 <= now {
                last_full_warning.store(now, Ordering::Relaxed);
                output::warn(&format!(
                    "{} connections open ([serve] max_connections): answering 503",
                    app.cfg.serve.max_connections
                ));
            }
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, app) = (router.clone(), Arc::clone(&app));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(router.clone(), Arc::clone(&app), peer, req));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .max_headers(64)
                .serve_connection(TokioIo::new(stream), service);
            if let Ok(Err(e)) = tokio::time::timeout(CONNECTION_LIFETIME, conn).await {
                output::debug(&format!("{}: connection: {}", peer.ip(), log_safe(&e.to_string())));
            }
            drop(permit);
        });
    }
}

/// One request: works out the client address, runs the router, logs a line.
async fn handle(
    router: Router,
    app: Arc<App>,
    peer: SocketAddr,
    mut req: hyper::Request<Incoming>,
) -> Result<axum::response::Response, std::convert::Infallible> {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let ip = client::client_ip(peer.ip(), forwarded, &app.cfg.serve.trusted_proxies);
    req.extensions_mut().insert(Client(ip));
    let method = req.method().clone();
    // The query holds tokens: only the path is logged.
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let mut response = tower::ServiceExt::oneshot(router, req.map(axum::body::Body::new))
        .await
        .unwrap_or_else(|e| match e {});
    let note = response
        .extensions_mut()
        .remove::<Note>()
        .map(|n| n.0)
        .unwrap_or_default();
    output::log(&format!(
        "{ip} {method} {} {} {:.0}ms {}",
        log_safe(&path),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
        log_safe(&note)
    ));
    Ok(response)
}

/// The answer when every connection slot is taken: no parsing, just 503.
async fn refuse(mut stream: TcpStream) {
    let reply = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 5\r\nConnection: close\r\n\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(reply)).await;
    let _ = stream.shutdown().await;
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
