//! The writer's batching (claims wait for a `sent` mark, a commit gathers
//! every connection's mark) and its rows, against a real database.

use super::*;
use crate::state::journal::{self, DeliveryState};
use std::sync::mpsc::sync_channel;

fn slot(seq: u32) -> Slot {
    Slot {
        seq,
        rcpt: u64::from(seq) * 7919,
    }
}

fn kinds(batch: &[Queued]) -> Vec<&'static str> {
    batch
        .iter()
        .map(|(_, _, e)| match e {
            Event::Claimed { .. } => "claimed",
            Event::Sent { .. } => "sent",
            Event::Failed { .. } => "failed",
            Event::Released { .. } => "released",
            Event::Bounced { .. } => "bounced",
        })
        .collect()
}

#[test]
fn a_claim_waits_for_the_sent_mark_that_follows_it() {
    let (tx, rx) = sync_channel(16);
    let sender = std::thread::spawn(move || {
        tx.send((1, Instant::now(), Event::Claimed { slot: slot(1) })).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        tx.send((2, Instant::now(), Event::Sent { slot: slot(1) })).unwrap();
        tx
    });
    let batch = next_batch(&rx, 1, Duration::ZERO).unwrap();
    assert_eq!(kinds(&batch), ["claimed", "sent"]);
    drop(sender.join().unwrap());
    assert!(next_batch(&rx, 1, Duration::ZERO).is_none(), "closed and empty");
}

#[test]
fn claims_alone_are_committed_after_the_delay() {
    let (tx, rx) = sync_channel(16);
    tx.send((1, Instant::now(), Event::Claimed { slot: slot(1) })).unwrap();
    let start = Instant::now();
    let batch = next_batch(&rx, 1, Duration::ZERO).unwrap();
    assert_eq!(kinds(&batch), ["claimed"]);
    assert!(start.elapsed() >= CLAIM_DELAY - Duration::from_millis(5));
    drop(tx);
}

#[test]
fn a_commit_gathers_every_connections_mark_within_the_window() {
    let (tx, rx) = sync_channel(16);
    let sender = std::thread::spawn(move || {
        for seq in 1..=3u32 {
            tx.send((u64::from(seq), Instant::now(), Event::Sent { slot: slot(seq) }))
                .unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        tx
    });
    let batch = next_batch(&rx, 3, Duration::from_millis(500)).unwrap();
    assert_eq!(kinds(&batch), ["sent", "sent", "sent"]);
    let tx = sender.join().unwrap();
    // One mark short: the window runs out and the mark goes alone.
    tx.send((4, Instant::now(), Event::Sent { slot: slot(4) })).unwrap();
    let start = Instant::now();
    let batch = next_batch(&rx, 2, Duration::from_millis(30)).unwrap();
    assert_eq!(kinds(&batch), ["sent"]);
    assert!(start.elapsed() >= Duration::from_millis(25));
    // A failure is never held back.
    tx.send((5, Instant::now(), Event::Released { slot: slot(5) })).unwrap();
    let start = Instant::now();
    assert_eq!(
        kinds(&next_batch(&rx, 4, Duration::from_secs(5)).unwrap()),
        ["released"]
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_writer_records_rows_and_failures_and_wakes_waiters() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::state::open(dir.path()).unwrap();
    let start = journal::begin_run(&mut conn, "w1", Some(3)).unwrap();
    let (writer, thread) = JournalWriter::start(crate::state::open(dir.path()).unwrap(), "w1".into()).unwrap();
    writer.gather(2);
    let s = |i: u32| Slot {
        seq: start.next_seq + i,
        rcpt: crate::address::id(&format!("r{i}@x.org")),
    };
    writer.record(Event::Claimed { slot: s(0) });
    let sent = writer.record(Event::Sent { slot: s(0) });
    writer.record(Event::Claimed { slot: s(1) });
    writer.record(Event::Failed {
        slot: s(1),
        email: "r1@x.org".into(),
        error: "SMTP RCPT TO: server replied 550 no".into(),
        transient: false,
    });
    writer.record(Event::Claimed { slot: s(2) });
    let last = writer.record(Event::Released { slot: s(2) });
    writer.wait_committed(sent);
    writer.wait_committed(last);
    assert!(!writer.stopped());
    drop(writer);
    thread.join().unwrap().unwrap();
    assert_eq!(
        journal::resume(&conn, "w1").unwrap().sent,
        vec![crate::address::id("r0@x.org")]
    );
    let st = journal::issue_status(&conn, "w1").unwrap();
    assert_eq!((st.sent, st.failed, st.pending, st.sending), (1, 1, 1, 0));
    assert_eq!(st.failures[0].email, "r1@x.org");
    assert_eq!(st.failures[0].attempts, 1);
    let pending: i64 = conn
        .query_row("SELECT state FROM sends WHERE seq = ?1", [s(2).seq], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, DeliveryState::Pending.code());
}
