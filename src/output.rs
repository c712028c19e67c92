//! Terminal output: colour only on a terminal (honouring NO_COLOR), plain
//! timestamped log lines for cron, and the one place errors are printed.

use crate::cli::ColorChoice;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);
static COLOR: AtomicU8 = AtomicU8::new(0);
static STAMPS: AtomicU8 = AtomicU8::new(0);

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

/// Timestamps in front of every stderr line (warnings, errors, the summary),
/// not only log lines: on for `send` when stderr is not a terminal (cron,
/// systemd, a log file), where an unstamped line cannot be placed in time.
pub fn set_stamps(on: bool) {
    STAMPS.store(on as u8, Ordering::Relaxed);
}

/// On when `send` writes to something other than a terminal.
pub fn stamps() -> bool {
    STAMPS.load(Ordering::Relaxed) == 1
}

fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `"<timestamp> "` when stamps are on, else nothing.
fn prefix() -> String {
    if stamps() {
        format!("{} ", timestamp())
    } else {
        String::new()
    }
}

/// A progress/log line on stderr: `2026-11-25T11:00:00Z message`, suppressed by --quiet.
pub fn log(msg: &str) {
    if !quiet() {
        eprintln!("{} {msg}", timestamp());
    }
}

/// A line on stderr that is printed even under --quiet (a summary of a
/// run that sent mail), timestamped like the others when stamps are on.
pub fn line(msg: &str) {
    eprintln!("{}{msg}", prefix());
}

/// "in 3 days 4 hours", "in 20 minutes", for when something will happen.
pub fn humanize(d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    let unit = |n: i64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (mins / 1440, mins % 1440 / 60, mins % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => "in less than a minute".into(),
        (0, 0, m) => format!("in {}", unit(m, "minute")),
        (0, h, 0) => format!("in {}", unit(h, "hour")),
        (0, h, m) => format!("in {} {}", unit(h, "hour"), unit(m, "minute")),
        (d, 0, _) => format!("in {}", unit(d, "day")),
        (d, h, _) => format!("in {} {}", unit(d, "day"), unit(h, "hour")),
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
    eprintln!("{}{}: {msg}", prefix(), paint("33", "warning"));
}

/// An error line that does not end the command (`error: …`), shown even under --quiet.
pub fn error(msg: &str) {
    eprintln!("{}{}: {msg}", prefix(), paint("31;1", "error"));
}

/// Prints a diagnostic (`path:line:col: error|warning: message`) on stderr.
pub fn diagnostic(d: &crate::diag::Diagnostic) {
    if !d.is_error() && quiet() {
        return;
    }
    // Under stamps the hint line gets its own timestamp too.
    let text = d.to_string().replace('\n', &format!("\n{}", prefix()));
    if color() {
        let text = text
            .replacen(": error: ", &format!(": {}: ", paint("31;1", "error")), 1)
            .replacen(": warning: ", &format!(": {}: ", paint("33;1", "warning")), 1);
        eprintln!("{}{text}", prefix());
    } else {
        eprintln!("{}{text}", prefix());
    }
}

/// Prints an error chain once: `error: outer: inner: root`.
pub fn print_error(err: &anyhow::Error) {
    let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    let mut parts: Vec<&str> = Vec::new();
    for c in chain.iter().filter(|c| !c.is_empty()) {
        // anyhow contexts often repeat the inner message; print each piece once.
        if !parts.iter().any(|p| p.contains(c.as_str())) {
            parts.push(c);
        }
    }
    // Empty: the problems were printed already, one line each (`exit::reported`).
    if !parts.is_empty() {
        error(&parts.join(": "));
    }
}
