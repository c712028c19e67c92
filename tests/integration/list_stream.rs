//! The subscriber list is read as a stream while a send goes on: entries
//! appended meanwhile wait for the next run, any other change stops the run
//! (exit 3) and a re-run finishes it with nobody lost or mailed twice.

use crate::harness::Run;
use crate::send::{folder, per_recipient, send, status_json, ISSUE};
use crate::smtp_server::SmtpServer;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

fn spawn_send(sb: &crate::harness::Sandbox) -> std::process::Child {
    sb.cmd(&["send", ISSUE, "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn entries_appended_during_a_send_go_out_with_the_next_run() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 1000, "rate_per_second = 400");
    let child = spawn_send(&sb);
    assert!(server.wait_for(50, Duration::from_secs(20)));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(sb.path("subscribers/list.csv"))
        .unwrap();
    for i in 0..10 {
        writeln!(f, "late{i}@example.org,Late {i},subscribed").unwrap();
    }
    drop(f);
    let r = Run::from(child.wait_with_output().unwrap());
    r.expect_code(0);
    assert_eq!(server.message_count(), 1000, "the run sends what it planned");
    assert_eq!(status_json(&sb)["issues"][0]["sent"], 1000);
    send(&sb, &[]).expect_code(0);
    let got = per_recipient(&server);
    assert_eq!(got.len(), 1010);
    assert!(got.values().all(|&n| n == 1), "nobody twice");
}

#[test]
fn a_list_edited_during_a_send_stops_it_and_a_rerun_completes() {
    let server = SmtpServer::start();
    let sb = folder(server.port(), 2000, "rate_per_second = 400");
    let child = spawn_send(&sb);
    assert!(server.wait_for(50, Duration::from_secs(20)));
    // An edit far down the list, where the reader has not been yet.
    let list = sb.read("subscribers/list.csv");
    sb.write(
        "subscribers/list.csv",
        list.replace("reader1900@example.org", "renamed1900@example.org"),
    );
    let r = Run::from(child.wait_with_output().unwrap());
    r.expect_code(3);
    assert!(
        r.stderr
            .contains("subscribers/list.csv: the subscriber list changed during the run (only appending is safe); re-run to continue"),
        "{}",
        r.stderr
    );
    let sent = status_json(&sb)["issues"][0]["sent"].as_u64().unwrap();
    assert!(sent < 2000, "stopped before the end: {sent}");
    send(&sb, &[]).expect_code(0);
    let got = per_recipient(&server);
    assert_eq!(got.len(), 2000);
    assert!(got.contains_key("renamed1900@example.org") && !got.contains_key("reader1900@example.org"));
    assert!(got.values().all(|&n| n == 1), "nobody twice");
}
