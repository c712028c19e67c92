//! `newsletter bounces parse`: every input kind (eml, folder, Maildir, mbox
//! with `>From`, stdin, CRLF), the JSON contract, and bad input (truncated
//! MIME, binary garbage, a 50+ MB message, a report about someone else's
//! message, unreadable paths) with its exact error lines and exit codes.

mod bad_input;
pub mod fixtures;
mod robust;

use crate::harness::{Run, Sandbox};
use fixtures::*;
use std::io::Write;
use std::process::Stdio;

const READER: &str = "reader@example.org";

fn parse(sb: &Sandbox, args: &[&str]) -> Run {
    let mut all = vec!["bounces", "parse"];
    all.extend_from_slice(args);
    sb.run(&all)
}

fn parse_stdin(sb: &Sandbox, args: &[&str], input: &[u8]) -> Run {
    let mut all = vec!["bounces", "parse"];
    all.extend_from_slice(args);
    let mut child = sb
        .cmd(&all)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().unwrap().write_all(input).unwrap();
    Run::from(child.wait_with_output().unwrap())
}

fn json_rows(run: &Run) -> Vec<serde_json::Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn one_eml_reads_as_a_hard_bounce_of_our_issue() {
    let sb = Sandbox::empty();
    let id = our_message_id("2026-w47", READER);
    let diag = "550 5.1.1 <reader@example.org>: Recipient address rejected: User unknown";
    sb.write("b.eml", postfix_dsn(READER, "5.1.1", diag, &id));
    let run = parse(&sb, &["b.eml"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "b.eml: hard reader@example.org userunknown 5.1.1 550 issue=2026-w47\n"
    );
    assert_eq!(run.stderr, "");
    let rows = json_rows(parse(&sb, &["--json", "b.eml"]).expect_code(0));
    assert_eq!(
        rows,
        [serde_json::json!({
            "file": "b.eml", "line": null, "kind": "dsn", "recipient": READER, "original_recipient": null, "class": "hard",
            "reason": "userunknown", "action": "failed", "status": "5.1.1", "status_source": "message", "reply_code": 550, "feedback_type": null,
            "issue": "2026-w47", "message_id": id,
            "report_id": "<20260303100001.4F1A2B3C4D@mx.example.net>", "diagnostic": diag,
        })]
    );
}

#[test]
fn a_policy_block_of_the_sender_is_soft() {
    let sb = Sandbox::empty();
    let diag = "554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org";
    sb.write(
        "b.eml",
        postfix_dsn(READER, "5.7.1", diag, &our_message_id("2026-w47", READER)),
    );
    let run = parse(&sb, &["b.eml"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "b.eml: soft reader@example.org blocked 5.7.1 554 issue=2026-w47\n"
    );
}

#[test]
fn a_report_about_someone_elses_message_names_no_issue() {
    let sb = Sandbox::empty();
    let diag = "550 5.1.1 user unknown";
    // Our shape, but the hash is not ours for this recipient.
    sb.write(
        "shape.eml",
        postfix_dsn(READER, "5.1.1", diag, "<2026-w47.0123456789abcdef@news.example.com>"),
    );
    sb.write(
        "other.eml",
        postfix_dsn(READER, "5.1.1", diag, "<CAF=x1y2@mail.gmail.com>"),
    );
    let rows = json_rows(parse(&sb, &["--json", "shape.eml", "other.eml"]).expect_code(0));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["issue"], serde_json::Value::Null);
    assert_eq!(rows[0]["message_id"], "<2026-w47.0123456789abcdef@news.example.com>");
    assert_eq!(rows[1]["issue"], serde_json::Value::Null);
    assert_eq!(rows[1]["message_id"], "<CAF=x1y2@mail.gmail.com>");
    // Still read: the class is the reading of the failure.
    assert_eq!(rows[0]["class"], "hard");
}

#[test]
fn a_forwarded_address_keeps_the_one_we_sent_to() {
    let sb = Sandbox::empty();
    let fwd = "reader.forward@elsewhere.example";
    let msg = exim_text(fwd, "550 5.1.1 No such user")
        .replace(&format!("X-Failed-Recipients: {fwd}\n"), "")
        .replace(
            &format!("  {fwd}\n"),
            &format!("  {fwd}\n    (generated from {READER})\n"),
        )
        .replace(
            "Message-ID: <a1b2c3@news.example.com>",
            &format!("Message-ID: {}", our_message_id("2026-w48", READER)),
        );
    sb.write("fwd.eml", msg);
    let rows = json_rows(parse(&sb, &["--json", "fwd.eml"]).expect_code(0));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["recipient"], fwd);
    assert_eq!(rows[0]["original_recipient"], READER);
    assert_eq!(rows[0]["issue"], "2026-w48");
}

#[test]
fn every_kind_of_message_gives_its_rows() {
    let sb = Sandbox::empty();
    sb.write(
        "exim.eml",
        exim_text(READER, "550 5.7.1 Message rejected due to content restrictions (spam)"),
    );
    sb.write("qmail.eml", qmail_two("gone@example.org", "full@example.org"));
    sb.write("arf.eml", arf(READER, &our_message_id("2026-w47", READER)));
    sb.write("global.eml", GLOBAL_DSN);
    sb.write("vacation.eml", VACATION);
    sb.write("plain.eml", PLAIN);
    let run = parse(
        &sb,
        &[
            "exim.eml",
            "qmail.eml",
            "arf.eml",
            "global.eml",
            "vacation.eml",
            "plain.eml",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "exim.eml: soft reader@example.org spamdetected 5.7.1 550\n\
         qmail.eml: hard gone@example.org userunknown 5.1.1 550\n\
         qmail.eml: soft full@example.org mailboxfull 5.2.2 552\n\
         arf.eml: complaint reader@example.org feedback - - feedback=abuse issue=2026-w47\n\
         global.eml: hard 読者@example.org userunknown 5.1.1 550\n\
         vacation.eml: ignore reader@example.org vacation - -\n\
         plain.eml: ignore - not-a-bounce - -\n"
    );
    let rows = json_rows(parse(&sb, &["--json", "plain.eml"]).expect_code(0));
    assert_eq!(rows[0]["recipient"], serde_json::Value::Null);
    assert_eq!(rows[0]["class"], "ignore");
}

#[test]
fn a_failure_without_a_code_gets_an_inferred_one() {
    let sb = Sandbox::empty();
    sb.write("exim.eml", exim_text(READER, "550 Unknown user"));
    let run = parse(&sb, &["exim.eml"]);
    assert_eq!(
        run.expect_code(0).stdout,
        "exim.eml: hard reader@example.org userunknown 5.0.911 550 status=inferred\n"
    );
    let rows = json_rows(parse(&sb, &["--json", "exim.eml"]).expect_code(0));
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["status_source"].as_str()),
        (Some("5.0.911"), Some("inferred"))
    );
    sb.write("busy.eml", exim_text(READER, "451 Too many connections, try later"));
    let rows = json_rows(parse(&sb, &["--json", "busy.eml"]).expect_code(0));
    assert_eq!(rows[0]["status"], "4.0.945", "a transient reply gives a 4.0.9NN code");
    sb.write("vacation.eml", VACATION);
    let rows = json_rows(parse(&sb, &["--json", "vacation.eml"]).expect_code(0));
    assert_eq!(
        (&rows[0]["status"], &rows[0]["status_source"]),
        (&serde_json::Value::Null, &serde_json::Value::Null)
    );
}

#[test]
fn crlf_reads_like_lf() {
    let sb = Sandbox::empty();
    let dsn = postfix_dsn(
        READER,
        "5.2.2",
        "552 5.2.2 Mailbox full",
        &our_message_id("2026-w47", READER),
    );
    sb.write("lf.eml", &dsn);
    sb.write("crlf.eml", crlf(&dsn));
    sb.write(
        "crlf-text.eml",
        crlf(&qmail_two("gone@example.org", "full@example.org")),
    );
    let lf = parse(&sb, &["lf.eml"]);
    let cr = parse(&sb, &["crlf.eml"]);
    assert_eq!(
        cr.expect_code(0).stdout.replace("crlf.eml", "lf.eml"),
        lf.expect_code(0).stdout
    );
    let text = parse(&sb, &["crlf-text.eml"]);
    assert_eq!(text.expect_code(0).stdout.lines().count(), 2);
}

#[test]
fn a_folder_reads_its_eml_files_in_name_order() {
    let sb = Sandbox::empty();
    sb.write("in/b.eml", qmail_two("gone@example.org", "full@example.org"));
    sb.write("in/a.eml", VACATION);
    sb.write("in/notes.txt", "not a message");
    sb.write("in/sub/c.eml", PLAIN);
    let run = parse(&sb, &["in"]);
    run.expect_code(0);
    let files: Vec<&str> = run.stdout.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(files, ["in/a.eml", "in/b.eml", "in/b.eml"]);
}

#[test]
fn a_maildir_reads_cur_and_new_but_not_tmp() {
    let sb = Sandbox::empty();
    sb.write("Maildir/cur/1772531201.M1P1.host:2,S", VACATION);
    sb.write(
        "Maildir/new/1772531202.M2P1.host",
        exim_text(READER, "550 5.1.1 No such user"),
    );
    sb.write("Maildir/tmp/1772531203.M3P1.host", PLAIN);
    let run = parse(&sb, &["Maildir"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "Maildir/cur/1772531201.M1P1.host:2,S: ignore reader@example.org vacation - -\n\
         Maildir/new/1772531202.M2P1.host: hard reader@example.org userunknown 5.1.1 550\n"
    );
}

#[test]
fn an_mbox_splits_on_from_lines_and_unescapes_from() {
    let sb = Sandbox::empty();
    let first = exim_text(READER, "550 5.1.1 No such user").replace("Hello.\n", "Hello.\n>From the editor: thanks.\n");
    let mbox = format!(
        "From MAILER-DAEMON Wed Mar  4 08:00:00 2026\n{first}\nFrom someone@example.org Wed Mar  4 09:00:00 2026\n{PLAIN}"
    );
    sb.write("bounces.mbox", &mbox);
    let run = parse(&sb, &["bounces.mbox"]);
    run.expect_code(0);
    let second_line = mbox.lines().position(|l| l.starts_with("From someone")).unwrap() + 1;
    assert_eq!(
        run.stdout,
        format!(
            "bounces.mbox:1: hard reader@example.org userunknown 5.1.1 550\n\
             bounces.mbox:{second_line}: ignore - not-a-bounce - -\n"
        )
    );
}

#[test]
fn stdin_takes_one_message_or_an_mbox() {
    let sb = Sandbox::empty();
    let one = parse_stdin(&sb, &["-"], exim_text(READER, "550 5.1.1 No such user").as_bytes());
    one.expect_code(0);
    assert_eq!(one.stdout, "-: hard reader@example.org userunknown 5.1.1 550\n");
    let mbox =
        format!("From MAILER-DAEMON Wed Mar  4 08:00:00 2026\n{VACATION}\nFrom x@y Wed Mar  4 09:00:00 2026\n{PLAIN}");
    let two = parse_stdin(&sb, &["--json", "-"], mbox.as_bytes());
    let rows = json_rows(two.expect_code(0));
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["file"].as_str(), rows[0]["line"].as_u64()),
        (Some("-"), Some(1))
    );
    assert_eq!(rows[1]["reason"], "not-a-bounce");
}

#[test]
fn it_changes_nothing_on_disk() {
    let sb = Sandbox::empty();
    sb.write("b.eml", exim_text(READER, "550 5.1.1 No such user"));
    parse(&sb, &["b.eml"]).expect_code(0);
    let entries: Vec<_> = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["b.eml"]);
}
