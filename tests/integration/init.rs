//! `newsletter init` from an empty folder to a dry run with no edit, and
//! `--from-hugo` adopting a site whose posts count as sent.

use crate::harness::{corpus, Run, Sandbox};
use std::collections::HashMap;
use std::path::Path;

/// The variables `.env` sets, as `set -a; . ./.env; set +a` would.
fn dot_env(sb: &Sandbox, rel: &str) -> HashMap<String, String> {
    sb.read(rel)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// `newsletter ARGS` in `dir` of the sandbox, with `.env` loaded and no
/// unsubscribe key from the harness.
fn run_in(sb: &Sandbox, dir: &str, env: &HashMap<String, String>, args: &[&str]) -> Run {
    let mut c = sb.cmd(args);
    c.current_dir(sb.path(dir))
        .env_remove("NEWSLETTER_UNSUBSCRIBE_SECRET")
        .envs(env);
    Run::from(c.output().unwrap())
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_then_check_preview_and_a_dry_run_with_no_edit() {
    let sb = Sandbox::empty();
    let r = sb.run(&["init", "weekly"]);
    r.expect_code(0);
    let next: Vec<&str> = r.stdout.lines().skip_while(|l| *l != "next:").skip(1).collect();
    assert_eq!(
        next[..5],
        [
            "  cd weekly",
            "  set -a; . ./.env; set +a        # the unsubscribe key init generated (add the SMTP password there)",
            "  newsletter check",
            "  newsletter preview example --open",
            "  newsletter send example --dry-run",
        ]
    );
    for f in [
        "newsletter.toml",
        "issues/example.md",
        "subscribers/subscribers.csv",
        ".env.example",
        ".gitignore",
    ] {
        assert!(sb.path("weekly").join(f).is_file(), "{f}");
    }
    assert_eq!(sb.read("weekly/subscribers/subscribers.csv"), "email,name,status\n");
    #[cfg(unix)]
    {
        assert_eq!(mode(&sb.path("weekly/.env")), 0o600);
        assert_eq!(mode(&sb.path("weekly/subscribers/subscribers.csv")), 0o600);
        assert_eq!(mode(&sb.path("weekly/subscribers")), 0o700);
        assert_eq!(mode(&sb.path("weekly/state")), 0o700);
    }
    // Without the generated key the one-click link cannot be made.
    let none = HashMap::new();
    run_in(&sb, "weekly", &none, &["check"]).expect_code(2);

    let env = dot_env(&sb, "weekly/.env");
    assert!(
        env["NEWSLETTER_UNSUBSCRIBE_SECRET"].len() >= 40,
        "a generated 256-bit key"
    );
    let check = run_in(&sb, "weekly", &env, &["check"]);
    check.expect_code(0);
    assert_eq!(check.stdout, "checked 1 issue: 0 errors, 2 warnings\n");
    assert!(
        check.stderr.contains("warning: draft: `send --due` skips this issue"),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains("warning: [smtp] password_env: NEWSLETTER_SMTP_PASSWORD is not set"),
        "{}",
        check.stderr
    );
    run_in(&sb, "weekly", &env, &["preview", "example"]).expect_code(0);
    let viewer = sb.read("weekly/preview/example/index.html");
    assert!(viewer.contains("Weekly, Issue 1"), "the example's title");
    let dry = run_in(&sb, "weekly", &env, &["send", "example", "--dry-run"]);
    dry.expect_code(0);
    assert!(
        dry.stdout.starts_with("dry run: wrote 0 messages to outbox/example\n"),
        "{}",
        dry.stdout
    );

    // The first reader: the same dry run writes their message.
    let list = sb.path("weekly/subscribers/subscribers.csv");
    std::fs::write(&list, "email,name,status\nann@example.org,Ann,subscribed\n").unwrap();
    let dry = run_in(&sb, "weekly", &env, &["send", "example", "--dry-run"]);
    dry.expect_code(0);
    assert!(
        sb.path("weekly/outbox/example/ann@example.org.eml").is_file(),
        "{}",
        dry.stdout
    );
}

#[test]
fn init_never_overwrites() {
    let sb = Sandbox::empty();
    sb.write("newsletter.toml", "# mine\n");
    let r = sb.run(&["init"]);
    r.expect_code(2);
    assert!(
        r.stderr
            .starts_with("error: ./newsletter.toml already exist(s); init never overwrites a file"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.read("newsletter.toml"), "# mine\n");
    assert!(
        !sb.path(".env").exists() && !sb.path("issues").exists(),
        "nothing written"
    );
}

#[test]
fn init_from_hugo_marks_the_posts_as_sent_and_cron_stays_silent() {
    let Some(corpus) = corpus() else { return };
    let sb = Sandbox::empty();
    for p in crate::harness::article_weekly(&corpus) {
        sb.write(
            &format!("site/content/posts/{}", p.file_name().unwrap().to_string_lossy()),
            std::fs::read(&p).unwrap(),
        );
    }
    // Hugo's section page is not an issue, nor are notes without front matter.
    sb.write("site/content/posts/_index.md", "---\ntitle: Posts\n---\n");
    sb.write("site/content/posts/NOTES.md", "# Notes\n");
    let r = sb.run(&["init", "weekly", "--from-hugo", "site/content/posts"]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("marked 52 issues as sent (no mail was sent): issue-001, issue-002, issue-003, issue-004, issue-005 and 47 more"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  newsletter send issue-052 --dry-run"),
        "{}",
        r.stdout
    );
    let env = dot_env(&sb, "weekly/.env");
    let mut c = sb.cmd(&["send", "--due", "--yes", "--quiet"]);
    c.current_dir(sb.path("weekly")).envs(&env);
    let due = Run::from(c.output().unwrap());
    due.expect_code(0);
    assert_eq!((due.stdout.as_str(), due.stderr.as_str()), ("", ""));
    let st = run_in(&sb, "weekly", &env, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    let issues = doc["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 52);
    assert!(issues
        .iter()
        .all(|i| i["last_run"]["outcome"] == "marked" && i["recipients"] == 0));
}
