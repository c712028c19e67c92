//! Test harness: temp newsletter folders, a command builder for the binary,
//! and access to the shared corpus.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A throw-away newsletter folder with a config, issues and subscribers.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// An empty folder.
    pub fn empty() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A folder holding a copy of the repository's example: `newsletter.toml`,
    /// `issues/` and `subscribers/`.
    pub fn example() -> Self {
        let sb = Self::empty();
        let root = repo_root();
        std::fs::copy(root.join("newsletter.toml"), sb.path("newsletter.toml")).unwrap();
        for sub in ["issues", "subscribers"] {
            std::fs::create_dir_all(sb.path(sub)).unwrap();
            for entry in std::fs::read_dir(root.join(sub)).unwrap() {
                let p = entry.unwrap().path();
                if p.is_file() {
                    std::fs::copy(&p, sb.path(sub).join(p.file_name().unwrap())).unwrap();
                }
            }
        }
        sb
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// `newsletter ARGS...` run in this folder, with a fixed environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_newsletter"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("NEWSLETTER_SMTP_PASSWORD")
            .env("NO_COLOR", "1")
            .env("NEWSLETTER_UNSUBSCRIBE_SECRET", "test-secret-key-0123456789");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run newsletter"))
    }
}

/// The result of one run, with the exit code and both streams as text.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Whether `line` starts with a log timestamp (`2026-11-25T11:00:00Z `).
pub fn is_stamped(line: &str) -> bool {
    let b = line.as_bytes();
    line.len() > 21
        && b[4] == b'-'
        && b[10] == b'T'
        && &line[19..21] == "Z "
        && line[..19].bytes().filter(u8::is_ascii_digit).count() == 14
}

/// `text` with the timestamp taken off every line that has one: `send`
/// stamps every stderr line when stderr is not a terminal.
pub fn unstamped(text: &str) -> String {
    text.lines()
        .map(|l| if is_stamped(l) { &l[21..] } else { l })
        .map(|l| format!("{l}\n"))
        .collect()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus`, or None (with a note) when it is absent. CI sets
/// NEWSLETTER_REQUIRE_CORPUS=1 so that a missing corpus fails instead.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("NEWSLETTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/corpus"));
    if dir.join("article-weekly").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("NEWSLETTER_REQUIRE_CORPUS").is_some() {
        panic!(
            "corpus not found at {} (NEWSLETTER_REQUIRE_CORPUS is set)",
            dir.display()
        );
    }
    eprintln!("note: corpus not found at {}; skipping corpus test", dir.display());
    None
}

/// The 52 Article Weekly issues, in order.
pub fn article_weekly(corpus: &Path) -> Vec<PathBuf> {
    (1..=52)
        .map(|n| corpus.join(format!("article-weekly/issue-{n:03}.md")))
        .collect()
}

/// The posts of the other series (`other/*/`): `.md` and `.markdown` files
/// but each folder's SOURCE.md, sorted.
pub fn other_posts(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(corpus.join("other")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if (name.ends_with(".md") || name.ends_with(".markdown")) && name != "SOURCE.md" {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}
