//! Inputs that crashed or hung: markdown nested thousands of levels deep,
//! FIFOs and links to `/dev/zero` where files are expected, runaway CSV
//! fields. `check`, `preview` and `send --dry-run` run the binary under a
//! 1 MB stack (`ulimit -s 1024`) and must end with a clear error, never a
//! signal or a hang.

use crate::harness::{unstamped, Run, Sandbox};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ISSUE: &str = "issues/2026-w47.md";

/// The example issue's front matter and period, then `body` as its one article.
pub fn hostile_issue(sb: &Sandbox, body: &str) -> String {
    let example = sb.read(ISSUE);
    let front_end = example[3..].find("+++").unwrap() + 6;
    format!(
        "{}\n\n## Period\n\n`2026-11-15` ~ `2026-11-21`\n\n## An article\n\n{body}\n\n## References\n\n- https://example.com/a\n",
        &example[..front_end]
    )
}

/// The hostile markdown bodies, by name, with the line of the nesting
/// error they get (None: not nested, they must simply work).
pub fn hostile_bodies() -> Vec<(&'static str, String, Option<usize>)> {
    vec![
        ("lists", "- ".repeat(10_000) + "a", Some(16)),
        ("ordered", "1. ".repeat(10_000) + "a", Some(16)),
        ("quotes", ">".repeat(20_000) + " deep", Some(16)),
        ("quoted lists", "> - ".repeat(5_000) + "a", Some(16)),
        (
            "indented lists",
            (0..400).map(|i| format!("{}- a\n", "  ".repeat(i))).collect(),
            Some(48),
        ),
        ("stars", "*".repeat(50_000) + "x" + &"*".repeat(50_000), Some(16)),
        ("emphasis run", "*a ".repeat(20_000) + &"b* ".repeat(20_000), Some(16)),
        ("strong run", "**a ".repeat(10_000) + &"b** ".repeat(10_000), Some(16)),
        (
            "links",
            "[".repeat(20_000) + "x" + &"](https://e.example/)".repeat(20_000),
            None,
        ),
        (
            "inline html",
            "<span>".repeat(20_000) + "x" + &"</span>".repeat(20_000),
            None,
        ),
        ("block html", "<div>\n".repeat(20_000), None),
    ]
}

/// `newsletter ARGS` in `sb` with the stack limited to 1 MB, killed after a minute.
pub fn run_small_stack(sb: &Sandbox, args: &str) -> Run {
    let bin = env!("CARGO_BIN_EXE_newsletter");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("ulimit -s 1024 && exec {bin} {args}"))
        .current_dir(sb.dir.path())
        .env("NO_COLOR", "1")
        .env("NEWSLETTER_UNSUBSCRIBE_SECRET", "test-secret-key-0123456789")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    finish_within(c.spawn().unwrap(), Duration::from_secs(60), args)
}

pub fn finish_within(mut child: std::process::Child, limit: Duration, what: &str) -> Run {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{what}` still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn deeply_nested_markdown_is_refused_with_its_line_under_a_1_mb_stack() {
    let sb = Sandbox::example();
    for (name, body, line) in hostile_bodies() {
        let file = format!("issues/{}.md", name.replace(' ', "-"));
        sb.write(&file, hostile_issue(&sb, &body));
        for cmd in ["check", "preview", "send"] {
            let args = match cmd {
                "send" => format!("send {file} --dry-run"),
                "preview" => format!("preview {file} --out pv"),
                _ => format!("check {file}"),
            };
            let started = Instant::now();
            let r = run_small_stack(&sb, &args);
            eprintln!("{name}: `{args}`: exit {} in {:?}", r.code, started.elapsed());
            match line {
                Some(line) => {
                    assert_eq!(r.code, 2, "{name}: `{args}`: {}", r.stderr);
                    let want = format!("{file}:{line}:");
                    assert!(
                        unstamped(&r.stderr).lines().any(|l| l.starts_with(&want)
                            && l.contains(": error: markdown nested more than 32 levels deep (lists, block quotes, emphasis and links inside one another)")),
                        "{name}: `{args}`: {}",
                        r.stderr
                    );
                }
                None => assert!(
                    matches!(r.code, 0 | 2),
                    "{name}: `{args}` ended with {}: {}",
                    r.code,
                    r.stderr
                ),
            }
        }
        std::fs::remove_file(sb.path(&file)).unwrap();
    }
    // The example itself goes through all three under the same stack.
    run_small_stack(&sb, &format!("check {ISSUE}")).expect_code(0);
    run_small_stack(&sb, &format!("preview {ISSUE} --out pv")).expect_code(0);
    run_small_stack(&sb, &format!("send {ISSUE} --dry-run")).expect_code(0);
}

#[test]
fn deep_front_matter_is_refused_quickly_under_a_1_mb_stack() {
    let sb = Sandbox::example();
    let body =
        "\n## Period\n\n`2026-11-15` ~ `2026-11-21`\n\n## A\n\ntext\n\n## References\n\n- https://example.com/a\n";
    let cases = [
        (
            "yaml-seq",
            format!(
                "---\ntitle: x\ndate: 2026-11-23\nx: {}{}\n---\n{body}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "yaml-map",
            format!(
                "---\ntitle: x\ndate: 2026-11-23\nx: {}1{}\n---\n{body}",
                "{a: ".repeat(50_000),
                "}".repeat(50_000)
            ),
        ),
        (
            "toml-array",
            format!(
                "+++\ntitle = \"x\"\ndate = 2026-11-23\nx = {}{}\n+++\n{body}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "toml-table",
            format!(
                "+++\ntitle = \"x\"\ndate = 2026-11-23\nx = {}1{}\n+++\n{body}",
                "{a=".repeat(50_000),
                "}".repeat(50_000)
            ),
        ),
    ];
    for (name, text) in cases {
        let file = format!("issues/{name}.md");
        sb.write(&file, text);
        let r = run_small_stack(&sb, &format!("check {file}"));
        r.expect_code(2);
        assert!(
            unstamped(&r.stderr).starts_with(&format!("{file}:4:")),
            "{name}: {}",
            r.stderr
        );
        std::fs::remove_file(sb.path(&file)).unwrap();
    }
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn fifos_and_devices_are_refused_as_issues_configs_and_lists() {
    let sb = Sandbox::example();
    mkfifo(&sb.path("issues/pipe.md"));
    std::os::unix::fs::symlink("/dev/zero", sb.path("issues/zero.md")).unwrap();
    for (file, kind) in [
        ("issues/pipe.md", "a named pipe (FIFO)"),
        ("issues/zero.md", "a device"),
    ] {
        let r = run_small_stack(&sb, &format!("check {file}"));
        r.expect_code(2);
        assert!(
            unstamped(&r.stderr).starts_with(&format!(
                "{file}:0:0: error: cannot read issue: {kind}, not a regular file; refusing to read it"
            )),
            "{}",
            r.stderr
        );
    }
    // In the issues folder they are skipped with a warning, not silently.
    let r = run_small_stack(&sb, "check");
    r.expect_code(0);
    for file in ["issues/pipe.md", "issues/zero.md"] {
        assert!(
            unstamped(&r.stderr).contains(&format!("{file}:0:0: warning: "))
                && unstamped(&r.stderr).contains("not a regular file: skipped"),
            "{}",
            r.stderr
        );
    }
    std::fs::remove_file(sb.path("issues/pipe.md")).unwrap();
    std::fs::remove_file(sb.path("issues/zero.md")).unwrap();

    mkfifo(&sb.path("pipe.toml"));
    let r = run_small_stack(&sb, "--config pipe.toml check");
    r.expect_code(2);
    assert!(
        unstamped(&r.stderr)
            .starts_with("pipe.toml:0:0: error: cannot read config: a named pipe (FIFO), not a regular file"),
        "{}",
        r.stderr
    );

    mkfifo(&sb.path("subscribers/pipe.csv"));
    std::os::unix::fs::symlink("/dev/zero", sb.path("subscribers/zero.toml")).unwrap();
    let r = run_small_stack(&sb, "send issues/2026-w47.md --dry-run");
    r.expect_code(0);
    assert!(
        unstamped(&r.stderr)
            .contains("subscribers/pipe.csv:0:0: warning: a named pipe (FIFO), not a regular file: skipped"),
        "{}",
        r.stderr
    );
    assert!(
        unstamped(&r.stderr).contains("subscribers/zero.toml:0:0: warning: a device, not a regular file: skipped"),
        "{}",
        r.stderr
    );
    assert!(
        sb.path("outbox/2026-w47/ada@example.com.eml").is_file(),
        "the rest of the list is read"
    );
}

#[test]
fn a_csv_with_an_unterminated_quote_gives_short_error_lines() {
    let sb = Sandbox::example();
    let mut csv = String::from("email,name\nann@example.com,\"Ann\n");
    for i in 0..10_000 {
        csv.push_str(&format!("reader{i}@example.org,Reader {i}\n"));
    }
    sb.write("subscribers/example.csv", csv);
    let r = sb.run(&["check"]);
    r.expect_code(2);
    let longest = unstamped(&r.stderr).lines().map(str::len).max().unwrap_or(0);
    assert!(
        longest < 300,
        "a {longest}-byte line:\n{}",
        &r.stderr[..r.stderr.len().min(2000)]
    );
    assert!(
        unstamped(&r.stderr).contains(
            "subscribers/example.csv:2:1: error: name \"Ann\\nreader0@example.org,Reader 0\\nreader1@example.org,Reader \"… (\
             347783 bytes in all) contains a line break (CR or LF), which is not allowed in a mail header"
        ),
        "{}",
        &r.stderr[..r.stderr.len().min(2000)]
    );
}

#[test]
fn preview_serve_survives_a_hostile_edit() {
    let sb = Sandbox::example();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = sb.cmd(&["preview", ISSUE, "--serve", "--port", &port.to_string()]);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let get = |path: &str| -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let wait = |f: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait(&|| get("/version").is_some_and(|r| r.ends_with("\r\n\r\n1")));
    sb.write(ISSUE, hostile_issue(&sb, &">".repeat(20_000)));
    wait(&|| get("/version").is_some_and(|r| !r.ends_with("\r\n\r\n1")));
    let page = get("/").unwrap();
    assert!(
        page.contains("issues/2026-w47.md:16:33: error: markdown nested more than 32 levels deep"),
        "{page}"
    );
    assert!(child.try_wait().unwrap().is_none(), "the server is still running");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn a_deeply_nested_theme_snippet_is_refused_too() {
    let sb = Sandbox::example();
    let cfg = sb.read("newsletter.toml") + &format!("\n[theme]\nheader = \"{}deep\"\n", "> ".repeat(20_000));
    sb.write("newsletter.toml", cfg);
    for args in [format!("check {ISSUE}"), format!("send {ISSUE} --dry-run")] {
        let r = run_small_stack(&sb, &args);
        r.expect_code(2);
        assert!(
            unstamped(&r.stderr).contains("newsletter.toml: [theme] header: markdown nested more than 32 levels deep"),
            "{args}: {}",
            r.stderr
        );
    }
}
