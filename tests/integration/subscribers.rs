//! `newsletter subscribers list|count|check|import`, and the suppression list
//! seen through them, end to end via the binary.

use crate::harness::{repo_root, Sandbox};

/// A folder with the repository's config and the given subscriber files.
pub fn with_files(files: &[(&str, &[u8])]) -> Sandbox {
    let sb = Sandbox::empty();
    std::fs::copy(repo_root().join("newsletter.toml"), sb.path("newsletter.toml")).unwrap();
    std::fs::create_dir_all(sb.path("subscribers")).unwrap();
    for (name, content) in files {
        sb.write(&format!("subscribers/{name}"), content);
    }
    sb
}

/// The lines of stderr without log timestamps' lines.
fn diagnostics(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("subscribers/")).collect()
}

#[test]
fn csv_edge_cases_have_exact_messages_and_lines() {
    // BOM, CRLF, quoted fields with commas, quotes and a line break, Korean
    // names, an uppercase duplicate, an invalid address, an unknown status.
    let csv = "\u{feff}Email Address,First Name,Last Name,Status,Plan\r\n\
        minji@example.com,민지,김,subscribed,pro\r\n\
        \"ada@example.com\",\"Ada \"\"Countess\"\", of Lovelace\",,active,\r\n\
        MINJI@EXAMPLE.COM,Dup,,subscribed,\r\n\
        not-an-address,Nobody,,subscribed,\r\n\
        eve@example.com,\"Eve\r\nBcc: victim@example.org\",,subscribed,\r\n\
        zed@example.com,Zed,,maybe,\r\n\
        bob@example.com,,,,\r\n";
    let sb = with_files(&[("list.csv", csv.as_bytes())]);
    let run = sb.run(&["subscribers", "check"]);
    run.expect_code(2);
    assert_eq!(
        diagnostics(&run.stderr),
        [
            r#"subscribers/list.csv:4:1: warning: duplicate address "MINJI@EXAMPLE.COM" (first at subscribers/list.csv:2); this entry is ignored"#,
            r#"subscribers/list.csv:5:1: error: "not-an-address" is not a valid email address: it has no @ (an address looks like name@example.com)"#,
            r#"subscribers/list.csv:6:1: error: name "Eve\r\nBcc: victim@example.org" contains a line break (CR or LF), which is not allowed in a mail header"#,
            r#"subscribers/list.csv:8:1: error: unknown status "maybe" (expected one of: subscribed, active, confirmed, enabled, pending, unconfirmed, unsubscribed, disabled, cleaned, bounced, blocklisted, complained)"#,
        ],
        "stderr:\n{}",
        run.stderr
    );
    let run = sb.run(&["subscribers", "list"]);
    run.expect_code(2);
    assert_eq!(
        run.stdout,
        "김민지 <minji@example.com>\nAda \"Countess\", of Lovelace <ada@example.com>\nbob@example.com\n"
    );
    let run = sb.run(&["subscribers", "count"]);
    assert_eq!(run.stdout, "3\n");
}

#[test]
fn plain_lf_csv_without_bom_and_toml_files_load_in_name_order() {
    let csv = "email,name,status,city\nann@example.com,Ann,subscribed,Seoul\nlee@example.com,이수,unsubscribed,\n";
    let toml = r#"
[[subscriber]]
email = "kim@example.com"
name = "김철수"
attributes = { city = "Daegu", since = 2024 }

[[subscriber]]
email = "Ann@Example.com"
name = "Ann again"

[[subscriber]]
email = "x@example.com"
status = "gone"
"#;
    let sb = with_files(&[
        ("b.toml", toml.as_bytes()),
        ("a.csv", csv.as_bytes()),
        ("notes.txt", b"ignored"),
    ]);
    let run = sb.run(&["subscribers", "check"]);
    run.expect_code(2);
    assert_eq!(
        diagnostics(&run.stderr),
        [
            r#"subscribers/b.toml:8:1: warning: duplicate address "Ann@Example.com" (first at subscribers/a.csv:2); this entry is ignored"#,
            r#"subscribers/b.toml:12:1: error: unknown status "gone" (expected one of: subscribed, active, confirmed, enabled, pending, unconfirmed, unsubscribed, disabled, cleaned, bounced, blocklisted, complained)"#,
        ],
        "stderr:\n{}",
        run.stderr
    );
    assert_eq!(
        sb.run(&["subscribers", "list"]).stdout,
        "Ann <ann@example.com>\n김철수 <kim@example.com>\n"
    );
}

#[test]
fn internationalised_addresses_are_refused_clearly() {
    let csv = "email,name\n민지@example.com,Minji\nminji@예시.한국,Minji\nok@example.com,OK\n";
    let sb = with_files(&[("list.csv", csv.as_bytes())]);
    let run = sb.run(&["subscribers", "check"]);
    run.expect_code(2);
    assert_eq!(
        diagnostics(&run.stderr),
        [
            r#"subscribers/list.csv:2:1: error: email address "민지@example.com" has a non-ASCII local part; internationalised addresses (SMTPUTF8) are not supported"#,
            r#"subscribers/list.csv:3:1: error: email address "minji@예시.한국" has a non-ASCII domain; write the domain in its ASCII (punycode, xn--) form"#,
        ]
    );
}

#[test]
fn missing_email_column_and_ragged_rows() {
    let sb = with_files(&[
        ("a.csv", b"name,status\nAnn,subscribed\n"),
        ("b.csv", b"email,name\nann@example.com,Ann,extra\nbob@example.com,Bob\n"),
    ]);
    let run = sb.run(&["subscribers", "check"]);
    run.expect_code(2);
    assert_eq!(
        diagnostics(&run.stderr),
        [
            r#"subscribers/a.csv:0:0: error: no email column in the header ("name", "status"); expected one named email, "Email Address" or E-mail"#,
            r#"subscribers/b.csv:2:1: error: this row has 3 fields but the header has 2; check the quoting"#,
        ]
    );
}

#[test]
fn example_list_is_valid_and_skips_its_unsubscribed_row() {
    let example = std::fs::read(repo_root().join("subscribers/example.csv")).unwrap();
    let sb = with_files(&[("example.csv", &example)]);
    let run = sb.run(&["subscribers", "check"]);
    run.expect_code(0);
    assert!(diagnostics(&run.stderr).is_empty(), "{}", run.stderr);
    let list = sb.run(&["subscribers", "list"]);
    assert!(
        list.stdout.contains("김민지 <minji.kim@example.com>\n"),
        "{}",
        list.stdout
    );
    assert!(
        !list.stdout.contains("hyunwoo.choi@example.com"),
        "unsubscribed row listed:\n{}",
        list.stdout
    );
    assert_eq!(sb.run(&["subscribers", "count"]).stdout, "5\n");
}

#[test]
fn unsubscribe_and_resubscribe_change_the_list() {
    let csv = "email,name\nann@example.com,Ann\nbob@example.com,Bob\n";
    let sb = with_files(&[("list.csv", csv.as_bytes())]);
    let run = sb.run(&["unsubscribe", "BOB@example.com"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "unsubscribed bob@example.com\n");
    assert_eq!(sb.run(&["subscribers", "list"]).stdout, "Ann <ann@example.com>\n");
    let again = sb.run(&["unsubscribe", "bob@example.com"]);
    assert!(
        again
            .stdout
            .starts_with("bob@example.com was already suppressed (unsubscribed, cli, since "),
        "{}",
        again.stdout
    );

    let run = sb.run(&["resubscribe", "Bob@Example.com"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "resubscribed bob@example.com\n");
    assert_eq!(
        sb.run(&["subscribers", "list"]).stdout,
        "Ann <ann@example.com>\nBob <bob@example.com>\n"
    );

    let bad = sb.run(&["unsubscribe", "not an address"]);
    bad.expect_code(2);
    let stranger = sb.run(&["unsubscribe", "stranger@example.com"]);
    stranger.expect_code(0);
    assert!(stranger
        .stderr
        .contains("warning: stranger@example.com is not in the subscriber list (suppressed anyway)"));
}

#[test]
fn unsubscribe_by_token_checks_the_token() {
    let csv = "email,name\nann@example.com,Ann\nbob@example.com,Bob\n";
    let sb = with_files(&[("list.csv", csv.as_bytes())]);
    let token = newsletter::token::make(b"test-secret-key-0123456789", "weekly.example.com", "Bob@example.com");
    let forged = newsletter::token::make(b"some-other-key", "weekly.example.com", "ann@example.com");
    let run = sb.run(&["unsubscribe", "--token", &forged]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("error: invalid unsubscribe token"),
        "{}",
        run.stderr
    );
    sb.run(&["unsubscribe", "--token", &token]).expect_code(0);
    assert_eq!(sb.run(&["subscribers", "list"]).stdout, "Ann <ann@example.com>\n");
    let no_key = sb
        .cmd(&["unsubscribe", "--token", &token])
        .env_remove("NEWSLETTER_UNSUBSCRIBE_SECRET")
        .output()
        .unwrap();
    assert_eq!(no_key.status.code(), Some(2));
}

#[test]
fn import_mailchimp_export() {
    let export = "\u{feff}Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME\r\n\
        ann@example.com,Ann,Lee,2,2024-01-01\r\n\
        minji@example.com,민지,김,5,\r\n\
        ANN@example.com,Ann,Again,1,\r\n\
        broken@,X,Y,1,\r\n\
        already@example.com,Al,Ready,1,\r\n";
    let unsub = "Email Address,First Name,Last Name,UNSUB_TIME\nold@example.com,Old,Reader,2025-01-01\n";
    let sb = with_files(&[("main.csv", b"email\nalready@example.com\n")]);
    sb.write("export.csv", export);
    sb.write("unsubscribed_members.csv", unsub);
    let run = sb.run(&["subscribers", "import", "export.csv"]);
    run.expect_code(0);
    let skipped: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("export.csv:")).collect();
    assert_eq!(
        skipped,
        [
            r#"export.csv:4:1: warning: skipped: duplicate address "ANN@example.com" (first at export.csv:2)"#,
            r#"export.csv:5:1: warning: skipped: "broken@" is not a valid email address: there is nothing after the @"#,
            r#"export.csv:6:1: warning: skipped: duplicate address "already@example.com" (first at subscribers/main.csv:2)"#,
        ],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("imported 2 subscribers into subscribers/imported-export.csv (2 subscribed); skipped 3 row(s)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sb.read("subscribers/imported-export.csv"),
        "email,name,status,MEMBER_RATING,OPTIN_TIME\nann@example.com,Ann Lee,subscribed,2,2024-01-01\nminji@example.com,김민지,subscribed,5,\n"
    );
    let run = sb.run(&[
        "subscribers",
        "import",
        "unsubscribed_members.csv",
        "--name",
        "mailchimp-unsubscribed",
    ]);
    run.expect_code(0);
    assert_eq!(
        sb.read("subscribers/mailchimp-unsubscribed.csv"),
        "email,name,status,UNSUB_TIME\nold@example.com,Old Reader,unsubscribed,2025-01-01\n"
    );
    // The imported files load cleanly; the unsubscribed reader is not listed.
    sb.run(&["subscribers", "check"]).expect_code(0);
    assert_eq!(sb.run(&["subscribers", "count"]).stdout, "3\n");
    // No overwriting.
    sb.run(&["subscribers", "import", "export.csv"]).expect_code(2);
}

#[test]
fn import_listmonk_export_expands_json_attributes() {
    let export = r#"uuid,email,name,attributes,status,created_at
u1,ann@example.com,Ann Lee,"{""city"": ""Seoul"", ""plan"": ""pro"", ""seats"": 3}",enabled,2024-01-01
u2,bob@example.com,Bob,"{""city"": ""Busan"", ""name"": ""Robert""}",blocklisted,2024-02-01
u3,carol@example.com,Carol,{},disabled,2024-03-01
u4,dan@example.com,Dan,,unknown-status,2024-03-01
"#;
    let sb = with_files(&[]);
    sb.write("listmonk.csv", export);
    let run = sb.run(&["subscribers", "import", "listmonk.csv", "--name", "lm.csv"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains(r#"listmonk.csv:5:1: warning: skipped: unknown status "unknown-status""#),
        "{}",
        run.stderr
    );
    assert_eq!(
        sb.read("subscribers/lm.csv"),
        "email,name,status,uuid,created_at,city,plan,seats,attr_name\n\
         ann@example.com,Ann Lee,subscribed,u1,2024-01-01,Seoul,pro,3,\n\
         bob@example.com,Bob,blocklisted,u2,2024-02-01,Busan,,,Robert\n\
         carol@example.com,Carol,unsubscribed,u3,2024-03-01,,,,\n"
    );
    sb.run(&["subscribers", "check"]).expect_code(0);
    assert_eq!(sb.run(&["subscribers", "list"]).stdout, "Ann Lee <ann@example.com>\n");
}
