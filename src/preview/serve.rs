//! `preview --serve`: a local web server for the viewer that rebuilds the
//! preview when a watched file changes; the page polls `/version` to reload.

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Serves the files of `out` on 127.0.0.1:`port` until the process is
/// interrupted. `rebuild` rewrites them; it runs whenever something under
/// `watched` (files or folders) changes.
pub fn serve(
    port: u16,
    open: bool,
    out: PathBuf,
    watched: Vec<PathBuf>,
    rebuild: impl Fn() + Send + 'static,
) -> Result<()> {
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = server.server_addr().to_ip().context("server address")?;
    let url = format!("http://{addr}/");
    let version = Arc::new(AtomicU64::new(1));

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
    for path in &watched {
        // Watch folders, not files: editors replace a file by renaming a new one over it.
        let (dir, mode) = if path.is_dir() {
            (path.as_path(), RecursiveMode::Recursive)
        } else {
            (
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
                RecursiveMode::NonRecursive,
            )
        };
        if dir.exists() {
            watcher
                .watch(dir, mode)
                .with_context(|| format!("watching {}", dir.display()))?;
        }
    }
    let bump = Arc::clone(&version);
    let out_abs = std::fs::canonicalize(&out).unwrap_or_else(|_| out.clone());
    std::thread::spawn(move || {
        let _watcher = watcher;
        while let Ok(event) = rx.recv() {
            if !relevant(&event, &watched, &out_abs) {
                continue;
            }
            // Let a burst of writes (an editor's save) settle, then rebuild once.
            std::thread::sleep(Duration::from_millis(150));
            while rx.try_recv().is_ok() {}
            rebuild();
            bump.fetch_add(1, Ordering::SeqCst);
        }
    });

    println!("Serving the preview at {url} (Ctrl-C to stop)");
    if open {
        open_browser(&url);
    }
    for request in server.incoming_requests() {
        let path = request.url().split(['?', '#']).next().unwrap_or("/").to_string();
        let response = match path.as_str() {
            "/version" => text_response(version.load(Ordering::SeqCst).to_string(), "text/plain; charset=utf-8"),
            "/" | "/index.html" => file_response(&out.join("index.html"), "text/html; charset=utf-8"),
            "/email.html" => file_response(&out.join("email.html"), "text/html; charset=utf-8"),
            "/email.txt" => file_response(&out.join("email.txt"), "text/plain; charset=utf-8"),
            "/message.eml" => file_response(&out.join("message.eml"), "text/plain; charset=utf-8"),
            "/favicon.ico" => text_response(String::new(), "image/x-icon").with_status_code(204),
            _ => text_response("not found".into(), "text/plain; charset=utf-8").with_status_code(404),
        };
        let _ = request.respond(response);
    }
    Ok(())
}

/// True when the event touches a watched file or folder, outside the output folder.
fn relevant(event: &notify::Result<notify::Event>, watched: &[PathBuf], out: &Path) -> bool {
    let Ok(event) = event else { return false };
    if event.kind.is_access() {
        return false;
    }
    event.paths.iter().any(|p| {
        !p.starts_with(out)
            && watched.iter().any(|w| {
                let w = std::fs::canonicalize(w).unwrap_or_else(|_| w.clone());
                p == &w || p.starts_with(&w) || p.file_name() == w.file_name() && p.parent() == w.parent()
            })
    })
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn text_response(body: String, content_type: &str) -> Response {
    with_headers(tiny_http::Response::from_data(body.into_bytes()), content_type)
}

fn file_response(path: &Path, content_type: &str) -> Response {
    match std::fs::read(path) {
        Ok(bytes) => with_headers(tiny_http::Response::from_data(bytes), content_type),
        Err(e) => text_response(format!("{}: {e}", path.display()), "text/plain; charset=utf-8").with_status_code(500),
    }
}

fn with_headers(r: Response, content_type: &str) -> Response {
    let header = |name: &str, value: &str| {
        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
    };
    r.with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
}

/// `$BROWSER URL`, else `xdg-open URL`; a failure is only a warning.
pub fn open_browser(url: &str) {
    let program = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "xdg-open".into());
    if let Err(e) = std::process::Command::new(&program).arg(url).spawn() {
        crate::output::warn(&format!("could not run {program} to open {url}: {e}"));
    }
}
