//! Criterion benchmarks of the per-issue and per-recipient costs: parse +
//! render of the largest corpus issue, one recipient's message, and the
//! journal's cost per delivery. The whole-process figures are `benches/smtp.sh`.
//!
//! Run: `cargo bench --bench pipeline`. The corpus issue is read at bench time
//! (third-party text, never copied into the repo); without it the issue
//! benchmarks are skipped with a note and a small built-in issue is used for
//! the message benchmark.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newsletter::config::Config;
use newsletter::issue::Issue;
use newsletter::keys::Keys;
use newsletter::message::{MessageFactory, Recipient};
use newsletter::state::journal;
use newsletter::state::writer::{Event, Journal, JournalWriter, Slot, WriterThread};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

const CORPUS_ISSUE: &str = "../shared/corpus/article-weekly/issue-048.md";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn config() -> Config {
    // The token key must be set for per-recipient unsubscribe URLs (as in a real send).
    std::env::set_var(
        "NEWSLETTER_UNSUBSCRIBE_SECRET",
        "bench-secret-bench-secret-bench-secret",
    );
    let path = manifest_dir().join("newsletter.toml");
    let text = std::fs::read_to_string(&path).expect("newsletter.toml");
    newsletter::config::parse(&path, &text).expect("example config parses")
}

/// The corpus issue's path and text, or None (with a note) when the corpus is absent.
fn corpus_issue() -> Option<(PathBuf, String)> {
    let path = std::env::var_os("NEWSLETTER_BENCH_ISSUE")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join(CORPUS_ISSUE));
    match std::fs::read_to_string(&path) {
        Ok(text) => Some((path, text)),
        Err(e) => {
            eprintln!(
                "note: {} not readable ({e}); skipping the corpus issue benchmarks",
                path.display()
            );
            None
        }
    }
}

fn parse(path: &Path, text: &str) -> Issue {
    newsletter::issue::parse(path, text).expect("issue parses").issue
}

/// The issue used for per-message benchmarks: the corpus issue, else the repo's example issue.
fn message_issue() -> Issue {
    match corpus_issue() {
        Some((path, text)) => parse(&path, &text),
        None => {
            let path = manifest_dir().join("issues/2026-w47.md");
            let text = std::fs::read_to_string(&path).expect("example issue");
            parse(&path, &text)
        }
    }
}

fn issue_parse_render(c: &mut Criterion) {
    let Some((path, text)) = corpus_issue() else { return };
    let cfg = config();
    let mut g = c.benchmark_group("issue");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse/issue-048", |b| b.iter(|| parse(&path, black_box(&text))));
    let issue = parse(&path, &text);
    g.bench_function("render/issue-048", |b| {
        b.iter(|| newsletter::render::prepare(black_box(&issue), &cfg).expect("renders"))
    });
    g.bench_function("parse+render/issue-048", |b| {
        b.iter(|| {
            let issue = parse(&path, black_box(&text));
            newsletter::render::prepare(&issue, &cfg).expect("renders")
        })
    });
    g.finish();
}

fn message_build(c: &mut Criterion) {
    let cfg = config();
    let issue = message_issue();
    let prepared = newsletter::render::prepare(&issue, &cfg).expect("renders");
    let keys = Keys::default();
    let factory = MessageFactory::new(&cfg, &issue, &prepared, &keys, SystemTime::UNIX_EPOCH).expect("factory");
    let emails: Vec<String> = (0..1024).map(|i| format!("reader{i:06}@example.com")).collect();
    let size = factory
        .build(Recipient {
            email: &emails[0],
            name: Some("김민지"),
            attributes: &[],
        })
        .expect("builds")
        .bytes
        .len();
    eprintln!("note: one message is {size} bytes");
    let mut g = c.benchmark_group("message");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("build/per-recipient", |b| {
        b.iter(|| {
            i = (i + 1) % emails.len();
            factory
                .build(Recipient {
                    email: black_box(&emails[i]),
                    name: Some("김민지"),
                    attributes: &[],
                })
                .expect("builds")
        })
    });
    g.finish();
}

/// A fresh state folder with a run of `n` recipients begun, their slots, and the writer.
fn journal_with(n: u64) -> (tempfile::TempDir, Vec<Slot>, JournalWriter, WriterThread) {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let mut conn = newsletter::state::open(&state).expect("state db");
    let start = journal::begin_run(&mut conn, "bench", Some(n)).expect("begin run");
    let slots = (0..n as u32)
        .map(|i| Slot {
            seq: start.next_seq + i,
            rcpt: u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        })
        .collect();
    let (writer, handle) =
        JournalWriter::start(newsletter::state::open(&state).expect("state db"), "bench".into()).expect("writer");
    (dir, slots, writer, handle)
}

/// Per delivery: `claimed`, then `sent`, each committed before the next message (one connection).
fn journal_per_delivery(c: &mut Criterion) {
    let mut g = c.benchmark_group("journal");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("claim+sent, committed each (1 connection)", |b| {
        b.iter_custom(|iters| {
            let (_dir, slots, writer, handle) = journal_with(iters);
            let start = Instant::now();
            for &slot in &slots {
                writer.record(Event::Claimed { slot });
                let seq = writer.record(Event::Sent { slot });
                writer.wait_committed(seq);
            }
            let took = start.elapsed();
            drop(writer);
            handle.join().expect("writer").expect("journal ok");
            took
        })
    });
    // The dispatcher's pattern with 4 workers: claim, wait for the previous
    // `sent`, record `sent`; commits are grouped across workers.
    g.bench_function("claim+sent, 4 workers, group commit", |b| {
        b.iter_custom(|iters| {
            let (_dir, slots, writer, handle) = journal_with(iters);
            let start = Instant::now();
            std::thread::scope(|s| {
                for chunk in slots.chunks(slots.len().div_ceil(4).max(1)) {
                    let writer = writer.clone();
                    s.spawn(move || {
                        let mut last = 0;
                        for &slot in chunk {
                            writer.record(Event::Claimed { slot });
                            writer.wait_committed(last);
                            last = writer.record(Event::Sent { slot });
                        }
                        writer.wait_committed(last);
                    });
                }
            });
            let took = start.elapsed();
            drop(writer);
            handle.join().expect("writer").expect("journal ok");
            took
        })
    });
    g.finish();
}

criterion_group!(benches, issue_parse_render, message_build, journal_per_delivery);
criterion_main!(benches);
