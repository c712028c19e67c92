//! Bad input to `bounces parse`: one clear line each (exact text pinned),
//! exit 2, no panic, and the good inputs around it still read.

use super::fixtures::*;
use super::{parse, READER};
use crate::harness::Sandbox;
use std::io::Write;

/// A DSN cut in the middle of its delivery-status part (no closing
/// boundary, the second recipient block unfinished).
fn cut_inside_the_report() -> String {
    let dsn = postfix_dsn(READER, "5.1.1", "550 5.1.1 user unknown", "<x@y>");
    let cut = dsn.find("Remote-MTA:").unwrap();
    dsn[..cut].to_string()
}

#[test]
fn truncated_mime_inside_the_report_reads_what_is_there_and_warns() {
    let sb = Sandbox::empty();
    sb.write("cut.eml", cut_inside_the_report());
    let run = parse(&sb, &["cut.eml"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "cut.eml: hard reader@example.org userunknown 5.1.1 550\n");
    assert_eq!(
        run.stderr,
        "cut.eml: warning: truncated MIME: the message ends inside its report part; the last entry may be incomplete\n"
    );
}

#[test]
fn truncated_mime_before_the_report_is_an_error() {
    let sb = Sandbox::empty();
    let dsn = postfix_dsn(READER, "5.1.1", "550 5.1.1 user unknown", "<x@y>");
    let cut = dsn.find("This is the mail system").unwrap();
    sb.write("cut.eml", &dsn[..cut]);
    sb.write("ok.eml", VACATION);
    let run = parse(&sb, &["cut.eml", "ok.eml"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "ok.eml: ignore reader@example.org vacation - -\n");
    assert_eq!(
        run.stderr,
        "cut.eml: error: truncated MIME: the message ends before its report could be read\n\
         error: 1 input(s) could not be read (see above)\n"
    );
}

#[test]
fn a_returned_message_cut_short_is_normal() {
    let sb = Sandbox::empty();
    let dsn = postfix_dsn(READER, "5.1.1", "550 5.1.1 user unknown", "<x@y>");
    let cut = dsn.find("Subject: Field Notes").unwrap();
    sb.write("cut.eml", &dsn[..cut]);
    let run = parse(&sb, &["cut.eml"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, "cut.eml: hard reader@example.org userunknown 5.1.1 550\n");
}

#[test]
fn binary_garbage_and_empty_files_are_one_line_each() {
    let sb = Sandbox::empty();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    sb.write("garbage.bin", &garbage);
    sb.write("png.eml", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    sb.write("empty.eml", "");
    sb.write("prose.eml", "Dear team,\nplease find attached.\n");
    let run = parse(&sb, &["garbage.bin", "png.eml", "empty.eml", "prose.eml"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "garbage.bin: error: not an email message: binary data in the header\n\
         png.eml: error: not an email message: binary data in the header\n\
         empty.eml: error: empty message\n\
         prose.eml: error: not an email message: it does not start with header fields\n\
         error: 4 input(s) could not be read (see above)\n"
    );
}

#[test]
fn a_message_over_the_size_limit_is_skipped_without_reading_it_whole() {
    let sb = Sandbox::empty();
    let path = sb.path("huge.eml");
    let head = exim_text(READER, "550 5.1.1 No such user");
    let line = format!("{}\n", "A".repeat(76));
    let filler = 51 * 1024 * 1024 / line.len();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(head.as_bytes()).unwrap();
    for _ in 0..filler {
        f.write_all(line.as_bytes()).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    assert!(std::fs::metadata(&path).unwrap().len() > 50 * 1024 * 1024);
    // The same message inside an mbox, between two small ones.
    let mbox = sb.path("big.mbox");
    let mut m = std::fs::File::create(&mbox).unwrap();
    writeln!(m, "From a@b Wed Mar  4 08:00:00 2026\n{VACATION}").unwrap();
    writeln!(m, "From c@d Wed Mar  4 08:00:00 2026").unwrap();
    std::io::copy(&mut std::fs::File::open(&path).unwrap(), &mut m).unwrap();
    writeln!(m, "\nFrom e@f Wed Mar  4 08:00:00 2026\n{PLAIN}").unwrap();
    drop(m);
    let second = 1 + VACATION.lines().count() + 2;
    let third = second + head.lines().count() + filler + 2;
    let run = parse(&sb, &["huge.eml", "big.mbox"]);
    run.expect_code(2);
    assert_eq!(
        run.stdout,
        format!("big.mbox:1: ignore reader@example.org vacation - -\nbig.mbox:{third}: ignore - not-a-bounce - -\n")
    );
    assert_eq!(
        run.stderr,
        format!(
            "huge.eml: error: message larger than 25 MiB; skipped\n\
             big.mbox:{second}: error: message larger than 25 MiB; skipped\n\
             error: 2 input(s) could not be read (see above)\n"
        )
    );
}

#[test]
fn unreadable_paths_are_named() {
    let sb = Sandbox::empty();
    sb.write("ok.eml", PLAIN);
    let run = parse(&sb, &["missing.eml", "/dev/null", "ok.eml"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "ok.eml: ignore - not-a-bounce - -\n");
    assert_eq!(
        run.stderr,
        "missing.eml: error: cannot read: No such file or directory (os error 2)\n\
         /dev/null: error: not a regular file, a folder or a Maildir\n\
         error: 2 input(s) could not be read (see above)\n"
    );
}

#[test]
fn no_path_is_a_usage_error() {
    let run = Sandbox::empty().run(&["bounces", "parse"]);
    run.expect_code(2);
    assert!(run.stderr.contains("required"), "{}", run.stderr);
}
