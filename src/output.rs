//! Terminal output: colour only on a terminal (honouring NO_COLOR), plain
//! timestamped log lines for cron, and the one place errors are printed.

use crate::cli::ColorChoice;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);
static COLOR: AtomicU8 = AtomicU8::new(0);

/// How much to print: 0 quiet, 1 normal, 2 verbose.
pub fn set_level(quiet: bool, verbose: bool) {
    LEVEL.store(
        if quiet {
            0
        } else if verbose {
            2
        } else {
            1
        },
        Ordering::Relaxed,
    );
}

pub fn set_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
        }
    };
    COLOR.store(on as u8, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    LEVEL.load(Ordering::Relaxed) == 0
}

pub fn verbose() -> bool {
    LEVEL.load(Ordering::Relaxed) >= 2
}

pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed) == 1
}

/// Wraps `text` in an ANSI colour when colour is on (`31` red, `33` yellow, `32` green, `1` bold).
pub fn paint(code: &str, text: &str) -> String {
    if color() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A progress/log line on stderr: `2026-11-25T11:00:00Z message`, suppressed by --quiet.
pub fn log(msg: &str) {
    if !quiet() {
        eprintln!("{} {msg}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
    }
}

/// A detail line shown only with --verbose.
pub fn debug(msg: &str) {
    if verbose() {
        log(msg);
    }
}

/// A warning on stderr, shown even under --quiet.
pub fn warn(msg: &str) {
    eprintln!("{}: {msg}", paint("33", "warning"));
}

/// Prints a diagnostic (`path:line:col: error|warning: message`) on stderr.
pub fn diagnostic(d: &crate::diag::Diagnostic) {
    if !d.is_error() && quiet() {
        return;
    }
    let text = d.to_string();
    if color() {
        let text = text
            .replacen(": error: ", &format!(": {}: ", paint("31;1", "error")), 1)
            .replacen(": warning: ", &format!(": {}: ", paint("33;1", "warning")), 1);
        eprintln!("{text}");
    } else {
        eprintln!("{text}");
    }
}

/// Prints an error chain once: `error: outer: inner: root`.
pub fn print_error(err: &anyhow::Error) {
    let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    let mut parts: Vec<&str> = Vec::new();
    for c in &chain {
        // anyhow contexts often repeat the inner message; print each piece once.
        if !parts.iter().any(|p| p.contains(c.as_str())) {
            parts.push(c);
        }
    }
    eprintln!("{}: {}", paint("31;1", "error"), parts.join(": "));
}
