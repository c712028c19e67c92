//! `newsletter init [DIR] [--from-hugo CONTENT_DIR]`: a newsletter folder
//! that `check` accepts and `send ISSUE --dry-run` can use without an edit,
//! then the next commands. It never overwrites a file. Files holding
//! secrets or addresses are owner-only.

use super::init_files::{self, Setup};
use crate::cli::InitArgs;
use crate::exit::{Exit, Failure};
use crate::output;
use std::path::{Path, PathBuf};

/// One file to write and its permissions.
struct File {
    rel: &'static str,
    text: String,
    private: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<Exit> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let hugo = match &args.from_hugo {
        Some(p) if p.is_dir() => Some(std::fs::canonicalize(p)?),
        Some(p) => {
            let msg = format!(
                "--from-hugo {}: not a folder (give the folder of the posts, such as content/posts)",
                p.display()
            );
            return Err(Failure::new(Exit::Invalid, msg));
        }
        None => None,
    };
    let name = name_of(&dir)?;
    let now = crate::send::plan::clock(&crate::send::plan::Env::from_process())?;
    let now = chrono::DateTime::<chrono::Utc>::from(now);
    let send_after = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let issues = hugo.as_ref().map_or("issues".to_string(), |p| p.display().to_string());
    let setup = Setup {
        name: &name,
        issues: &issues,
        send_after: hugo.is_some().then_some(send_after.as_str()),
    };
    let files = files(&setup, hugo.is_none(), &now.format("%Y-%m-%d").to_string());
    let taken: Vec<String> = files
        .iter()
        .map(|f| dir.join(f.rel))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !taken.is_empty() {
        let msg = format!(
            "{} already exist(s); init never overwrites a file (pick an empty folder: newsletter init DIR)",
            taken.join(", ")
        );
        return Err(Failure::new(Exit::Invalid, msg));
    }
    for f in &files {
        write(&dir.join(f.rel), &f.text, f.private)?;
    }
    for sub in ["subscribers", "state"] {
        private_dir(&dir.join(sub))?;
    }
    let example = match &hugo {
        None => Some("example".to_string()),
        Some(content) => adopt(&dir, content, now)?,
    };
    if !output::quiet() {
        print_next(&dir, &files, example.as_deref());
    }
    Ok(Exit::Ok)
}

fn files(setup: &Setup<'_>, with_example: bool, today: &str) -> Vec<File> {
    let mut secret = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut secret[..]);
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let file = |rel, text: String, private| File { rel, text, private };
    let mut out = vec![
        file("newsletter.toml", init_files::config(setup), false),
        file("subscribers/subscribers.csv", init_files::SUBSCRIBERS.into(), true),
        file(".env", init_files::env(&secret), true),
        file(".env.example", init_files::ENV_EXAMPLE.into(), false),
        file(".gitignore", init_files::GITIGNORE.into(), false),
    ];
    if with_example {
        out.insert(
            1,
            file("issues/example.md", init_files::example_issue(setup.name, today), false),
        );
    }
    out
}

/// `--from-hugo`: every post already there counts as sent. Returns the id
/// of the newest post, for the next commands.
fn adopt(dir: &Path, content: &Path, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Option<String>> {
    let cfg = super::load_config(&dir.join("newsletter.toml"))?;
    let (posts, broken) = super::mark_sent::dated_before(&cfg, now.fixed_offset())?;
    let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
    let (newly, already) = super::mark_sent::mark(&cfg, &ids)?;
    if !output::quiet() {
        println!(
            "{}: {}",
            content.display(),
            super::mark_sent::report(&newly, already.len())
        );
        if broken {
            println!("some posts could not be read (above); `newsletter check` lists every problem");
        }
    }
    Ok(posts.iter().max_by_key(|p| p.front.date).map(|p| p.id.clone()))
}

fn print_next(dir: &Path, files: &[File], example: Option<&str>) {
    println!("created a newsletter in {}:", dir.display());
    for f in files {
        let note = if f.private { "  (owner-only)" } else { "" };
        println!("  {}{note}", f.rel);
    }
    println!("\nnext:");
    if dir != Path::new(".") {
        println!("  cd {}", dir.display());
    }
    println!("  set -a; . ./.env; set +a        # the unsubscribe key init generated (add the SMTP password there)");
    println!("  newsletter check");
    if let Some(id) = example {
        println!("  newsletter preview {id} --open");
        println!("  newsletter send {id} --dry-run");
    }
    println!("then fill in [newsletter] from and [smtp] in newsletter.toml, add readers to subscribers/, and run `newsletter check --smtp`");
}

/// "field-notes" → "Field Notes"; "." → the current folder's name.
fn name_of(dir: &Path) -> anyhow::Result<String> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()?.join(dir)
    };
    let stem = abs
        .components()
        .rev()
        .find_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .unwrap_or_default();
    let words: Vec<String> = stem
        .split(['-', '_', ' ', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        })
        .collect();
    Ok(if words.is_empty() {
        "My Newsletter".to_string()
    } else {
        words.join(" ")
    })
}

fn write(path: &Path, text: &str, private: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    // create_new: never overwrite, even if a file appeared since the check.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = options
        .open(path)
        .map_err(|e| Failure::new(Exit::Invalid, format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
