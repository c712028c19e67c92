//! The plan a command line becomes.

use super::*;
use crate::cli::{Cli, Command};
use clap::Parser;
use std::path::Path;

fn config() -> Config {
    let text = "[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\n[smtp]\nconcurrency = 3\nrate_per_second = 7\nretries = 5\n";
    crate::config::parse(Path::new("/nl/newsletter.toml"), text).unwrap()
}

fn plan(args: &[&str], env: &Env) -> anyhow::Result<SendPlan> {
    let cli = Cli::try_parse_from([&["newsletter", "send"], args].concat()).unwrap();
    let Command::Send(a) = cli.command else { unreachable!() };
    SendPlan::new(&a, &config(), env)
}

#[test]
fn a_live_send_takes_the_config_and_the_flags() {
    let p = plan(&["issues/a.md", "--yes", "--concurrency", "8"], &Env::default()).unwrap();
    assert_eq!(p.target, Target::Issue("issues/a.md".into()));
    assert_eq!(
        p.mode,
        Mode::Live {
            confirmed: true,
            journal: true
        }
    );
    assert_eq!(
        p.dispatch,
        Options {
            concurrency: 8,
            rate_per_second: 7.0,
            retries: 5,
            retry_base: Duration::from_secs(1)
        }
    );
    assert_eq!(p.log_every, Duration::from_secs(5));
    let env = Env {
        without_journal: true,
        retry_base_ms: Some("20".into()),
        date: Some("2026-11-23T09:00:00+09:00".into()),
    };
    let p = plan(&["--due", "--rate", "0"], &env).unwrap();
    assert_eq!(p.target, Target::Due);
    assert_eq!(
        p.mode,
        Mode::Live {
            confirmed: false,
            journal: false
        }
    );
    assert_eq!(p.dispatch.rate_per_second, 0.0);
    assert_eq!(p.dispatch.retry_base, Duration::from_millis(20));
    let secs = p.now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs, 1_795_392_000);
}

#[test]
fn dry_runs_and_test_copies_write_files_without_a_rate() {
    let p = plan(&["a.md", "--dry-run", "--limit", "2"], &Env::default()).unwrap();
    assert_eq!(
        p.mode,
        Mode::DryRun {
            outbox: "/nl/outbox".into()
        }
    );
    assert_eq!(
        (p.dispatch.rate_per_second, p.limit, p.log_every),
        (0.0, Some(2), Duration::ZERO)
    );
    let p = plan(
        &["a.md", "--to", "me@example.com", "--dry-run", "--outbox", "/o"],
        &Env::default(),
    )
    .unwrap();
    assert_eq!(
        p.mode,
        Mode::TestCopy {
            to: "me@example.com".into(),
            dir: Some("/o/test".into())
        }
    );
    let p = plan(&["a.md", "--to", "me@example.com"], &Env::default()).unwrap();
    assert_eq!(
        p.mode,
        Mode::TestCopy {
            to: "me@example.com".into(),
            dir: None
        }
    );
}

#[test]
fn bad_values_are_usage_errors() {
    let err = |args: &[&str], env: &Env| {
        let e = plan(args, env).unwrap_err();
        assert_eq!(crate::exit::exit_for(&e), Exit::Invalid);
        e.to_string()
    };
    assert_eq!(
        err(&["a.md", "--shard", "3/2"], &Env::default()),
        "--shard 3/2: expected K/N with 1 <= K <= N, e.g. 2/4"
    );
    assert_eq!(
        err(&["a.md", "--to", "not an address"], &Env::default()),
        "--to: \"not an address\" is not a valid email address: it has no @ (an address looks like name@example.com)"
    );
    assert_eq!(
        err(&["a.md", "--rate=-1"], &Env::default()),
        "--rate: must be 0 (unlimited) or positive"
    );
    let env = Env {
        date: Some("yesterday".into()),
        ..Env::default()
    };
    assert!(err(&["a.md"], &env).starts_with("NEWSLETTER_DATE=yesterday: "));
}

#[test]
fn shards_split_the_list_exactly() {
    let emails: Vec<String> = (0..1000).map(|i| format!("Reader{i}@Example.org")).collect();
    let shards: Vec<Shard> = (1..=4).map(|k| Shard { k, n: 4 }).collect();
    for e in &emails {
        let homes = shards.iter().filter(|s| s.contains(e)).count();
        assert_eq!(homes, 1, "{e}");
        assert_eq!(
            shards.iter().position(|s| s.contains(e)),
            shards.iter().position(|s| s.contains(&e.to_lowercase()))
        );
    }
    assert_eq!(Shard::parse(" 2 / 4 "), Ok(Shard { k: 2, n: 4 }));
    assert!(Shard::parse("0/4").is_err() && Shard::parse("1/0").is_err() && Shard::parse("x").is_err());
}
