//! Resumable sends: crash (SIGKILL) recovery with a bounded duplicate window,
//! idempotent re-runs and `--due`, the run lock, a server that dies mid-run,
//! and SIGTERM.

use crate::harness::Run;
use crate::send::{folder, per_recipient, send, status_json, ISSUE};
use crate::smtp_server::SmtpServer;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn spawn_send(sb: &crate::harness::Sandbox, extra: &[&str]) -> Child {
    let mut args = vec!["send", ISSUE, "--yes"];
    args.extend_from_slice(extra);
    sb.cmd(&args)
        .env("NEWSLETTER_RETRY_BASE_MS", "20")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A tiny xorshift generator: random kill points without a dependency, and
/// the seed is printed so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

#[test]
fn sigkill_at_random_points_loses_nobody_and_duplicates_at_most_the_window_per_kill() {
    const N: usize = 2000;
    const CONCURRENCY: usize = 4;
    let server = SmtpServer::start();
    // A rate limit stretches the run so that every kill lands mid-run.
    let sb = folder(
        server.port(),
        N,
        &format!("concurrency = {CONCURRENCY}\nrate_per_second = 400"),
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let mut kills = 0;
    while kills < 12 {
        let mut child = spawn_send(&sb, &[]);
        std::thread::sleep(Duration::from_millis(100 + rng.next(400)));
        if child.try_wait().unwrap().is_some() {
            break; // finished before the kill
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert!(kills >= 10, "only {kills} kills landed mid-run");
    let last = Run::from(spawn_send(&sb, &[]).wait_with_output().unwrap());
    last.expect_code(0);
    let got = per_recipient(&server);
    assert_eq!(got.len(), N, "every recipient got the issue");
    let duplicates: usize = got.values().map(|n| n - 1).sum();
    eprintln!(
        "{kills} kills, {duplicates} duplicates, {} messages",
        server.message_count()
    );
    assert!(
        duplicates <= kills * CONCURRENCY,
        "{duplicates} duplicates after {kills} kills exceeds the window of {CONCURRENCY} per kill"
    );
    let st = status_json(&sb);
    assert_eq!(st["issues"][0]["sent"], N as u64);
}

#[test]
fn due_twice_in_a_row_sends_once_and_quiet_nothing_to_do_is_silent() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 15, "");
    let due = || {
        let mut c = sb.cmd(&["send", "--due", "--yes", "--quiet"]);
        // Between the two example issues: only the first one is due.
        c.env("NEWSLETTER_DATE", "2026-11-24T00:00:00Z");
        Run::from(c.output().unwrap())
    };
    due().expect_code(0);
    let first = server.message_count();
    assert_eq!(first, 15, "the past-dated example issue went out");
    let again = due();
    again.expect_code(0);
    assert_eq!(server.message_count(), first, "nothing sent twice");
    assert_eq!(again.stdout, "");
    assert_eq!(again.stderr, "", "silent under --quiet when nothing is due");
}

#[test]
fn too_old_issues_are_skipped_with_a_warning() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 3, "");
    let cfg = sb
        .read("newsletter.toml")
        .replace("max_age_days = 36500", "max_age_days = 0");
    sb.write("newsletter.toml", cfg);
    let r = Run::from(sb.cmd(&["send", "--due", "--yes"]).output().unwrap());
    r.expect_code(0);
    assert!(r.stderr.contains("older than max_age_days"), "{}", r.stderr);
    assert_eq!(server.message_count(), 0);
}

#[test]
fn two_sends_started_together_one_sends_the_other_exits_4() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 200, "rate_per_second = 100");
    let a = spawn_send(&sb, &[]);
    let b = spawn_send(&sb, &[]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    assert_eq!(
        codes,
        [0, 4],
        "a: {}\nb: {}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let loser = if a.status.code() == Some(4) { &a } else { &b };
    let msg = String::from_utf8_lossy(&loser.stderr);
    assert!(msg.contains("another send holds") && msg.contains("pid "), "{msg}");
    assert_eq!(server.message_count(), 200);
}

#[test]
fn server_dying_mid_run_aborts_with_3_and_a_rerun_completes() {
    let mut server = SmtpServer::start();
    let sb = folder(server.port(), 300, "concurrency = 2\nrate_per_second = 300");
    let child = spawn_send(&sb, &[]);
    assert!(server.wait_for(50, Duration::from_secs(20)));
    server.stop();
    let r = Run::from(child.wait_with_output().unwrap());
    r.expect_code(3);
    assert!(
        r.stderr.contains("re-run") || r.stderr.contains("run the same command"),
        "{}",
        r.stderr
    );
    // The journal's `sent` rows are exactly what the server has, less at most
    // the messages in flight when it died (one per connection).
    let got = per_recipient(&server);
    let st = status_json(&sb);
    let sent = st["issues"][0]["sent"].as_u64().unwrap() as usize;
    assert!(
        sent <= got.len() && got.len() - sent <= 2,
        "journal sent {sent}, server has {}",
        got.len()
    );
    assert!(st["issues"][0]["finished_at"].is_null());
    server.restart();
    send(&sb, &[]).expect_code(0);
    let got = per_recipient(&server);
    assert_eq!(got.len(), 300);
    assert!(got.values().map(|n| n - 1).sum::<usize>() <= 2);
}

#[test]
fn sigterm_finishes_in_flight_records_them_and_exits_3() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 400, "concurrency = 2\nrate_per_second = 100");
    let child = spawn_send(&sb, &[]);
    assert!(server.wait_for(20, Duration::from_secs(20)));
    let t = Instant::now();
    unsafe_kill(child.id(), 15);
    let r = Run::from(child.wait_with_output().unwrap());
    assert!(t.elapsed() < Duration::from_secs(5), "stops promptly");
    r.expect_code(3);
    let st = status_json(&sb);
    let sent = st["issues"][0]["sent"].as_u64().unwrap() as usize;
    assert_eq!(sent, server.message_count(), "every accepted message is recorded");
    assert_eq!(st["issues"][0]["sending"], 0, "nothing left claimed");
    send(&sb, &[]).expect_code(0);
    assert_eq!(per_recipient(&server).len(), 400);
    assert_eq!(server.message_count(), 400, "no duplicates after a graceful stop");
}

fn unsafe_kill(pid: u32, sig: i32) {
    let ok = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
