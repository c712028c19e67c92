//! `newsletter bounces parse [--json] PATH...`: how each returned message
//! reads, one line per affected recipient. Reads only its inputs (no
//! config, no state) and changes nothing.

use crate::bounce::{self, input, Entry, Report};
use crate::cli::{BouncesCommand, BouncesParseArgs};
use crate::exit::{Exit, Failure};
use crate::output;
use std::io::{self, IsTerminal, Write};

pub fn run(config_path: &std::path::Path, cmd: BouncesCommand) -> anyhow::Result<Exit> {
    match cmd {
        BouncesCommand::Parse(a) => parse(a),
        BouncesCommand::Import(a) => super::bounce_intake::import(config_path, a),
        BouncesCommand::Fetch => super::bounce_intake::fetch(config_path),
    }
}

/// Counts what happened while reading, for the exit code.
#[derive(Default)]
struct Tally {
    unreadable: usize,
    /// stdout was closed (`| head`): stop quietly.
    closed: bool,
    error: Option<io::Error>,
}

fn parse(args: BouncesParseArgs) -> anyhow::Result<Exit> {
    let stdout = io::stdout();
    let paint = stdout.is_terminal() && output::color();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    for path in &args.paths {
        input::read(path, &mut |source, bytes| {
            if tally.closed || tally.error.is_some() {
                return;
            }
            let report = bytes
                .map_err(|e| e.to_string())
                .and_then(|b| bounce::parse(&b).map_err(|e| e.to_string()));
            let report = match report {
                Ok(r) => r,
                Err(e) => {
                    tally.unreadable += 1;
                    eprintln!("{source}: {}: {e}", output::paint("31;1", "error"));
                    return;
                }
            };
            for w in &report.warnings {
                eprintln!("{source}: {}: {w}", output::paint("33", "warning"));
            }
            let written = report.entries.iter().try_for_each(|e| {
                let line = if args.json {
                    json_line(&source, &report, e)
                } else {
                    text_line(&source, &report, e, paint)
                };
                writeln!(out, "{line}")
            });
            note_write(&mut tally, written);
        });
    }
    note_write(&mut tally, out.flush());
    if let Some(e) = tally.error {
        return Err(e.into());
    }
    if tally.unreadable > 0 {
        return Err(Failure::new(
            Exit::Invalid,
            format!("{} input(s) could not be read (see above)", tally.unreadable),
        ));
    }
    Ok(Exit::Ok)
}

fn note_write(tally: &mut Tally, r: io::Result<()>) {
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => tally.closed = true,
        Err(e) => tally.error = Some(e),
    }
}

/// `bounces/a.eml: hard kijitora@example.jp userunknown 5.1.1 550 issue=2026-w47`
fn text_line(source: &input::Source, report: &Report, e: &Entry, paint: bool) -> String {
    let class = e.class.as_str();
    let class = if paint {
        let code = match e.class {
            bounce::Class::Hard => "31;1",
            bounce::Class::Soft => "33",
            bounce::Class::Complaint => "35;1",
            bounce::Class::Ignore => "2",
        };
        format!("\x1b[{code}m{class}\x1b[0m")
    } else {
        class.to_string()
    };
    let mut line = format!(
        "{source}: {class} {} {} {} {}",
        e.recipient.as_deref().unwrap_or("-"),
        e.reason,
        e.status.as_deref().unwrap_or("-"),
        e.reply_code.map_or("-".to_string(), |c| c.to_string()),
    );
    if e.status_inferred {
        line.push_str(" status=inferred");
    }
    if e.action.as_deref() == Some("delayed") {
        line.push_str(" action=delayed");
    }
    if let Some(t) = &e.feedback_type {
        line.push_str(&format!(" feedback={t}"));
    }
    if let Some(issue) = report.issue_for(e) {
        line.push_str(&format!(" issue={issue}"));
    }
    line
}

/// One `--json` line. Field order is part of the output's readability;
/// the names are the contract (DESIGN.md, README).
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    file: std::borrow::Cow<'a, str>,
    /// Line of the message's `From ` separator inside an mbox.
    line: Option<usize>,
    kind: &'static str,
    recipient: Option<&'a str>,
    original_recipient: Option<&'a str>,
    class: &'static str,
    reason: &'static str,
    action: Option<&'a str>,
    status: Option<&'a str>,
    /// `message` (read from the bounce) or `inferred` (from the reason).
    status_source: Option<&'static str>,
    reply_code: Option<u16>,
    feedback_type: Option<&'a str>,
    issue: Option<&'a str>,
    message_id: Option<&'a str>,
    /// The bounce's own Message-ID.
    report_id: Option<&'a str>,
    diagnostic: &'a str,
}

fn json_line(source: &input::Source, report: &Report, e: &Entry) -> String {
    let row = JsonRow {
        file: source.path.to_string_lossy(),
        line: source.line,
        kind: kind_name(report.kind),
        recipient: e.recipient.as_deref(),
        original_recipient: e.original_recipient.as_deref(),
        class: e.class.as_str(),
        reason: e.reason.as_str(),
        action: e.action.as_deref(),
        status: e.status.as_deref(),
        status_source: e
            .status
            .as_ref()
            .map(|_| if e.status_inferred { "inferred" } else { "message" }),
        reply_code: e.reply_code,
        feedback_type: e.feedback_type.as_deref(),
        issue: report.issue_for(e),
        message_id: report.original.message_id.as_deref(),
        report_id: report.report_id.as_deref(),
        diagnostic: &e.diagnostic,
    };
    serde_json::to_string(&row).expect("a row serialises")
}

fn kind_name(kind: bounce::Kind) -> &'static str {
    match kind {
        bounce::Kind::Dsn => "dsn",
        bounce::Kind::Text => "text",
        bounce::Kind::Feedback => "feedback",
        bounce::Kind::AutoReply => "auto-reply",
        bounce::Kind::NotABounce => "not-a-bounce",
    }
}
