//! The planner against lists held in memory: every entry counted once, the
//! journal and suppression, duplicates (and addresses that share an id),
//! the stream's numbering, and lists that change during a run.

use super::*;
use crate::send::dispatch::Job;
use crate::send::source::Listed;
use std::path::PathBuf;

fn sub(file: &str, line: u64, email: &str, status: Status) -> Subscriber {
    Subscriber {
        email: email.into(),
        name: None,
        status,
        attributes: Vec::new(),
        file: Arc::from(PathBuf::from(file)),
        line,
    }
}

fn active(file: &str, line: u64, email: &str) -> Subscriber {
    sub(file, line, email, Status::Active)
}

fn nobody(_: u64, _: &str) -> anyhow::Result<bool> {
    Ok(false)
}

fn rules<'a>(sent: &'a [u64], limit: Option<usize>) -> Rules<'a> {
    Rules {
        suppressed: &nobody,
        confirmed: &nobody,
        shard: None,
        sent,
        only: None,
        limit,
    }
}

fn from(next: u32) -> Numbering {
    Numbering {
        next,
        open: HashMap::new(),
    }
}

/// Plans `source` with `rules`; returns the plan, the streamed recipients
/// and every diagnostic.
fn run(source: &Listed, rules: &Rules<'_>, id: fn(&str) -> u64) -> (Plan, Vec<Job>, Vec<String>) {
    let mut notes = Vec::new();
    let scan = scan_with(source, &mut |d| notes.push(d.to_string()), id).unwrap();
    assert_eq!(scan.errors, 0, "{notes:?}");
    let plan = decide(scan, source, rules, &mut |d| notes.push(d.to_string())).unwrap();
    let mut jobs = Vec::new();
    stream(&plan, source, from(10), plan.total, &mut |j| {
        jobs.push(j);
        true
    })
    .unwrap();
    (plan, jobs, notes)
}

fn emails(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.email.as_str()).collect()
}

#[test]
fn every_entry_is_either_a_recipient_or_counted_once() {
    let list: Vec<Subscriber> = (0..40)
        .map(|i| {
            let status = if i % 10 == 0 {
                Status::Unsubscribed
            } else {
                Status::Active
            };
            sub("s.csv", i + 2, &format!("R{i}@example.org"), status)
        })
        .collect();
    let suppressed = |_: u64, email: &str| Ok(email.eq_ignore_ascii_case("r1@example.org"));
    let sent = [crate::address::id("r2@example.org")];
    let shard = Shard { k: 1, n: 2 };
    let rules = Rules {
        suppressed: &suppressed,
        confirmed: &nobody,
        shard: Some(shard),
        sent: &sent,
        only: None,
        limit: Some(5),
    };
    let (plan, jobs, _) = run(&Listed::new(list.clone()), &rules, crate::address::id);
    let s = plan.skipped;
    assert_eq!(s.inactive_or_suppressed, 5, "4 unsubscribed + 1 suppressed");
    assert_eq!((plan.total, jobs.len()), (5, 5));
    assert_eq!(plan.total + s.total() + s.over_limit, 40);
    let in_shard = list[5..].iter().filter(|x| shard.contains(&x.email)).count();
    assert_eq!(s.other_shard, 35 - in_shard);
    assert!(jobs.iter().all(|j| shard.contains(&j.email)));
    assert!(jobs.iter().all(|j| j.email != "R2@example.org"));
    // Numbered from the first free seq, in list order, with their ids.
    assert_eq!(
        jobs.iter().map(|j| j.slot.seq).collect::<Vec<_>>(),
        [10, 11, 12, 13, 14]
    );
    assert!(jobs.iter().all(|j| j.slot.rcpt == crate::address::id(&j.email)));
}

#[test]
fn sent_recipients_are_skipped_and_the_rest_kept_in_order() {
    let list = vec![
        active("s.csv", 2, "a@x.org"),
        active("s.csv", 3, "B@x.org"),
        active("s.csv", 4, "c@x.org"),
    ];
    let sent = [crate::address::id("b@x.org")];
    let (plan, jobs, _) = run(&Listed::new(list), &rules(&sent, None), crate::address::id);
    assert_eq!(emails(&jobs), ["a@x.org", "c@x.org"]);
    assert_eq!(
        plan.skipped,
        Skipped {
            already_sent: 1,
            ..Skipped::default()
        }
    );
}

#[test]
fn later_entries_of_an_address_are_duplicates_and_the_first_wins() {
    let list = vec![
        sub("a.csv", 2, "ann@x.org", Status::Unsubscribed),
        active("a.csv", 3, "bob@x.org"),
        active("b.csv", 7, "ANN@x.org"),
        active("b.csv", 8, "Bob@X.org"),
    ];
    let (plan, jobs, notes) = run(&Listed::new(list), &rules(&[], None), crate::address::id);
    assert_eq!(
        emails(&jobs),
        ["bob@x.org"],
        "ann stays unsubscribed: her first entry wins"
    );
    assert_eq!(plan.skipped.duplicates, 2);
    assert_eq!(plan.skipped.inactive_or_suppressed, 1);
    assert_eq!(
        notes,
        [
            r#"b.csv:7:1: warning: duplicate address "ANN@x.org" (first at a.csv:2); this entry is ignored"#,
            r#"b.csv:8:1: warning: duplicate address "Bob@X.org" (first at a.csv:3); this entry is ignored"#,
        ]
    );
}

/// Every address of the same length shares an id.
fn colliding_id(email: &str) -> u64 {
    email.trim().len() as u64
}

#[test]
fn addresses_that_share_an_id_are_both_sent_even_when_the_journal_has_the_id() {
    // "ann@x.org" and "bob@x.org" share an id here; the journal has it as
    // sent, which may mean either of them: both are sent (a possible
    // duplicate, never a loss). A real duplicate of ann is still dropped.
    let list = vec![
        active("s.csv", 2, "ann@x.org"),
        active("s.csv", 3, "ANN@x.org"),
        active("s.csv", 4, "bob@x.org"),
        active("s.csv", 5, "carol@x.org"),
    ];
    let sent = [colliding_id("ann@x.org")];
    let (plan, jobs, notes) = run(&Listed::new(list), &rules(&sent, None), colliding_id);
    assert_eq!(emails(&jobs), ["ann@x.org", "bob@x.org", "carol@x.org"]);
    assert_eq!(plan.skipped.duplicates, 1);
    assert_eq!(plan.skipped.already_sent, 0);
    assert_eq!(plan.total, 3);
    assert_eq!(notes.len(), 1, "{notes:?}");
}

#[test]
fn the_stream_stops_when_told() {
    let list: Vec<_> = (0..10)
        .map(|i| active("s.csv", i + 2, &format!("r{i}@x.org")))
        .collect();
    let source = Listed::new(list);
    let scan = scan(&source, &mut |_| {}).unwrap();
    let plan = decide(scan, &source, &rules(&[], None), &mut |_| {}).unwrap();
    let mut got = 0;
    stream(&plan, &source, from(0), plan.total, &mut |_| {
        got += 1;
        got < 3
    })
    .unwrap();
    assert_eq!(got, 3);
}

/// The plan of `list`, then a stream after `change` edited the list.
fn stream_after_change(
    list: Vec<Subscriber>,
    change: impl FnOnce(&mut Vec<Subscriber>) + Send + 'static,
) -> (Vec<String>, anyhow::Result<()>) {
    let source = Listed::new(list);
    let scan = scan(&source, &mut |_| {}).unwrap();
    let plan = decide(scan, &source, &rules(&[], None), &mut |_| {}).unwrap();
    source.changes.lock().unwrap().push(Box::new(change));
    let mut got = Vec::new();
    let r = stream(&plan, &source, from(0), plan.total, &mut |j: Job| {
        got.push(j.email);
        true
    });
    (got, r)
}

fn two_files() -> Vec<Subscriber> {
    vec![
        active("a.csv", 2, "a1@x.org"),
        active("a.csv", 3, "a2@x.org"),
        active("b.csv", 2, "b1@x.org"),
    ]
}

#[test]
fn entries_appended_during_a_run_are_left_for_the_next_one() {
    let (got, r) = stream_after_change(two_files(), |l| {
        l.insert(2, active("a.csv", 4, "late@x.org"));
        l.push(active("b.csv", 3, "later@x.org"));
    });
    r.unwrap();
    assert_eq!(got, ["a1@x.org", "a2@x.org", "b1@x.org"]);
}

#[test]
fn any_other_change_during_a_run_stops_the_stream_with_an_error() {
    let edited = stream_after_change(two_files(), |l| l[1].email = "other@x.org".into());
    assert_eq!(edited.0, ["a1@x.org"]);
    assert_eq!(
        format!("{:#}", edited.1.unwrap_err()),
        "a.csv: the subscriber list changed during the run (only appending is safe); re-run to continue"
    );
    let shrunk = stream_after_change(two_files(), |l| {
        l.remove(1);
    });
    assert_eq!(shrunk.0, ["a1@x.org"]);
    assert!(shrunk.1.is_err());
    let truncated = stream_after_change(two_files(), |l| {
        l.pop();
    });
    assert_eq!(truncated.0, ["a1@x.org", "a2@x.org"]);
    assert_eq!(
        format!("{:#}", truncated.1.unwrap_err()),
        "b.csv: the subscriber list changed during the run (only appending is safe); re-run to continue"
    );
}

#[test]
fn a_confirmed_sign_up_makes_a_lapsed_entry_active_and_is_no_duplicate() {
    // The files say ann unsubscribed and bob is blocklisted; both later
    // confirmed a sign-up, which the database source lists again (line 0).
    let db = "state/newsletter.db";
    let list = vec![
        sub("s.csv", 2, "ann@x.org", Status::Unsubscribed),
        sub("s.csv", 3, "bob@x.org", Status::Blocklisted),
        sub(db, 0, "ann@x.org", Status::Active),
        sub(db, 0, "bob@x.org", Status::Active),
        sub(db, 0, "new@x.org", Status::Active),
    ];
    let confirmed = |_: u64, email: &str| Ok(email != "carol@x.org");
    let rules = Rules {
        confirmed: &confirmed,
        ..rules(&[], None)
    };
    let (plan, jobs, notes) = run(&Listed::new(list), &rules, crate::address::id);
    assert_eq!(emails(&jobs), ["ann@x.org", "new@x.org"]);
    assert_eq!((plan.skipped.duplicates, plan.skipped.inactive_or_suppressed), (2, 1));
    assert_eq!(
        notes,
        Vec::<String>::new(),
        "no warning for a sign-up also in the files"
    );
}

#[test]
fn a_retry_takes_only_the_given_addresses() {
    let list: Vec<_> = (0..5).map(|i| active("s.csv", i + 2, &format!("r{i}@x.org"))).collect();
    let only = HashSet::from(["r1@x.org".to_string(), "r3@x.org".to_string()]);
    let rules = Rules {
        only: Some(&only),
        ..rules(&[], None)
    };
    let (plan, jobs, _) = run(&Listed::new(list), &rules, crate::address::id);
    assert_eq!(emails(&jobs), ["r1@x.org", "r3@x.org"]);
    assert_eq!(plan.skipped.not_retried, 3);
}

#[test]
fn open_rows_are_reused_and_a_cap_sends_fewer_than_planned() {
    let list: Vec<_> = (0..6).map(|i| active("s.csv", i + 2, &format!("r{i}@x.org"))).collect();
    let source = Listed::new(list);
    let scan = scan(&source, &mut |_| {}).unwrap();
    let plan = decide(scan, &source, &rules(&[], None), &mut |_| {}).unwrap();
    let numbering = Numbering {
        next: 20,
        open: HashMap::from([(crate::address::id("r2@x.org"), 7)]),
    };
    let mut got = Vec::new();
    stream(&plan, &source, numbering, 4, &mut |j| {
        got.push((j.email, j.slot.seq));
        true
    })
    .unwrap();
    assert_eq!(
        got,
        [
            ("r0@x.org".to_string(), 20),
            ("r1@x.org".into(), 21),
            ("r2@x.org".into(), 7),
            ("r3@x.org".into(), 22)
        ]
    );
}
