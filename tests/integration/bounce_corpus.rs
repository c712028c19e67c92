//! Bounce reading against the shared corpus (`bounces/`: real bounce and
//! complaint messages with sisimai's expected reading). Entries are paired
//! with `expected.tsv` rows by position within each message. The test
//! prints every disagreement and asserts the agreement targets of issue 11:
//! class for at least 95% of rows, status code for at least 90% of the rows
//! that have one, compared literally.
//!
//! When a message carries no enhanced status code, sisimai writes a code
//! `x.0.9NN` that names its reason, and so do we (`bounce::pseudo`, marked
//! inferred): the comparison is literal either way. How many of the
//! agreeing rows were inferred codes is printed too.

use crate::harness;
use newsletter::bounce::{self, input, Entry};
use std::collections::BTreeMap;
use std::path::Path;

struct Expected {
    index: String,
    status: String,
    reply_code: String,
    reason: String,
    class: String,
}

fn load_expected(path: &Path) -> BTreeMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(path).expect("expected.tsv");
    let mut out: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let c: Vec<&str> = line.split('\t').collect();
        out.entry(c[0].to_string()).or_default().push(Expected {
            index: c[1].to_string(),
            status: c[2].to_string(),
            reply_code: c[3].to_string(),
            reason: c[4].to_string(),
            class: c[5].to_string(),
        });
    }
    out
}

/// Every entry of every message in one corpus file (read as `bounces parse`
/// reads it: an mbox-style `From ` first line is allowed).
fn read_entries(path: &Path) -> Vec<Entry> {
    let mut entries = Vec::new();
    input::read(path, &mut |source, bytes| {
        let bytes = bytes.unwrap_or_else(|e| panic!("{source}: {e}"));
        match bounce::parse(&bytes) {
            Ok(report) => entries.extend(report.entries),
            Err(e) => panic!("{source}: {e}"),
        }
    });
    entries
}

/// `bounces/` of the shared corpus, or None (with a note) when it is absent;
/// `NEWSLETTER_REQUIRE_CORPUS` makes that a failure, as for the rest.
fn bounces_dir() -> Option<std::path::PathBuf> {
    let dir = harness::corpus()?.join("bounces");
    if dir.join("expected.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var_os("NEWSLETTER_REQUIRE_CORPUS").is_some() {
        panic!("{} not found (NEWSLETTER_REQUIRE_CORPUS is set)", dir.display());
    }
    eprintln!("note: {} not found; skipping the bounce corpus test", dir.display());
    None
}

#[test]
fn bounce_corpus_agrees_with_sisimai() {
    let Some(dir) = bounces_dir() else { return };
    let expected = load_expected(&dir.join("expected.tsv"));
    let (mut rows, mut class_ok, mut with_status, mut status_ok, mut inferred_ok) = (0, 0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for (file, want) in &expected {
        let got = read_entries(&dir.join("mail").join(file));
        for (i, w) in want.iter().enumerate() {
            rows += 1;
            let g = got.get(i);
            let class = g.map_or("(no entry)", |g| g.class.as_str());
            let status = g.and_then(|g| g.status.clone()).unwrap_or_default();
            let inferred = if g.is_some_and(|g| g.status_inferred) {
                " inferred"
            } else {
                ""
            };
            let reason = g.map_or("-", |g| g.reason.as_str());
            let class_agrees = class == w.class;
            class_ok += usize::from(class_agrees);
            let mut status_agrees = true;
            if !w.status.is_empty() {
                with_status += 1;
                status_agrees = g.is_some() && status == w.status;
                status_ok += usize::from(status_agrees);
                inferred_ok += usize::from(status_agrees && g.is_some_and(|g| g.status_inferred));
            }
            if !class_agrees || !status_agrees {
                let rcpt = g.and_then(|g| g.recipient.clone()).unwrap_or_default();
                let reply = g.and_then(|g| g.reply_code).map(|c| c.to_string()).unwrap_or_default();
                disagreements.push(format!(
                    "{file}#{} {rcpt}: class {class} (sisimai {}), status {status:?}{inferred} (sisimai {:?}), reply {reply} (sisimai {}), reason {reason} (sisimai {})",
                    w.index, w.class, w.status, w.reply_code, w.reason
                ));
            }
        }
        if got.len() > want.len() {
            disagreements.push(format!("{file}: {} entries, sisimai has {}", got.len(), want.len()));
        }
    }
    for d in &disagreements {
        println!("disagreement: {d}");
    }
    let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
    println!(
        "class: {class_ok}/{rows} = {:.1}%; status (literal): {status_ok}/{with_status} = {:.1}%, of which {inferred_ok} inferred codes",
        pct(class_ok, rows),
        pct(status_ok, with_status),
    );
    assert!(rows > 250, "only {rows} expected rows read");
    assert!(pct(class_ok, rows) >= 95.0, "class agreement below 95%");
    assert!(
        pct(status_ok, with_status) >= 90.0,
        "literal status agreement below 90%"
    );
}

/// Real bounces cut anywhere (as mail systems truncate them) read without
/// panicking, into at least one entry or a clear error.
#[test]
fn cut_corpus_messages_read_without_panic() {
    let Some(dir) = bounces_dir().map(|d| d.join("mail")) else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files {
        let raw = std::fs::read(&path).unwrap();
        for k in 1..8 {
            let cut = &raw[..raw.len() * k / 8];
            if let Ok(report) = bounce::parse(cut) {
                assert!(!report.entries.is_empty(), "{}", path.display());
            }
        }
    }
}
