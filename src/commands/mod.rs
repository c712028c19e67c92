//! One module per subcommand; `run` sets up output and dispatches.

mod bounce_intake;
mod bounces;
mod check;
mod check_send;
mod docs;
mod export;
mod init;
mod init_files;
mod issue_arg;
mod mark_sent;
mod preview;
mod progress;
mod send;
mod send_due;
mod send_live;
mod send_one;
mod send_steps;
mod status;
mod subscribers;
mod suppressions;
mod unsubscribe;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output;
use std::path::{Path, PathBuf};

pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    output::set_level(cli.quiet, cli.verbose);
    output::set_color(cli.color);
    let config_path = cli.config.clone().unwrap_or_else(|| PathBuf::from("newsletter.toml"));
    match cli.command {
        Command::Init(a) => init::run(a),
        Command::Completions(a) => docs::completions(&a),
        Command::Man(a) => docs::man(&a),
        Command::Check(a) => check::run(&config_path, a),
        Command::Preview(a) => preview::run(&config_path, a),
        Command::Send(a) => send::run(&config_path, a),
        Command::Status(a) => status::run(&config_path, a),
        Command::MarkSent(a) => mark_sent::run(&config_path, a),
        Command::Subscribers(c) => subscribers::run(&config_path, c),
        Command::Unsubscribe(a) => unsubscribe::unsubscribe(&config_path, a),
        Command::Resubscribe(a) => unsubscribe::resubscribe(&config_path, a),
        Command::Serve(a) => unsubscribe::serve(&config_path, a),
        Command::Bounces(c) => bounces::run(&config_path, c),
        Command::Suppressions(a) => suppressions::run(&config_path, a),
    }
}

/// Loads the config, printing its diagnostics; any error means exit 2.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Config> {
    crate::config::load(path).map_err(|diags| {
        for d in &diags {
            output::diagnostic(d);
        }
        crate::exit::reported(Exit::Invalid)
    })
}

/// Parses an issue file, printing its warnings; errors mean exit 2.
pub(crate) fn load_issue(path: &Path) -> anyhow::Result<crate::issue::Issue> {
    match crate::issue::from_file(path) {
        Ok(parsed) => {
            for w in &parsed.warnings {
                output::diagnostic(w);
            }
            Ok(parsed.issue)
        }
        Err(diags) => {
            for d in &diags {
                output::diagnostic(d);
            }
            Err(crate::exit::reported(Exit::Invalid))
        }
    }
}

/// Every issue in the issues folder (posts, page bundles, sections), sorted
/// by path; a warning is printed for each entry that is not a regular file
/// (a FIFO, a link to a device), which is skipped.
pub(crate) fn issue_files(dir: &Path) -> Result<Vec<PathBuf>, crate::diag::Diagnostic> {
    let (files, skipped) = crate::issue::files::issue_files_checked(dir)?;
    skipped.iter().for_each(output::diagnostic);
    Ok(files)
}

/// [`issue_files`], with the warnings about skipped entries returned.
pub(crate) fn issue_files_checked(
    dir: &Path,
) -> Result<(Vec<PathBuf>, Vec<crate::diag::Diagnostic>), crate::diag::Diagnostic> {
    crate::issue::files::issue_files_checked(dir)
}

/// Whether a markdown file opens with front matter (`+++` or `---`). One
/// that does not has no date, so it can never be due: `send --due` and
/// `init --from-hugo` pass over it (a README beside the posts), while
/// `check` still reports it.
pub(crate) fn has_front_matter(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    // Through the safe opener: a FIFO must not hang this look.
    let n = crate::files::open(path, crate::files::MAX_ISSUE_BYTES)
        .ok()
        .and_then(|mut f| f.read(&mut head).ok())
        .unwrap_or(0);
    let head = &head[..n];
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
    head.starts_with(b"+++") || head.starts_with(b"---")
}

/// The keys messages need (DKIM, unsubscribe); problems are printed and mean exit 2.
pub(crate) fn load_keys(cfg: &Config) -> anyhow::Result<crate::keys::Keys> {
    crate::keys::Keys::load(cfg).map_err(|diags| invalid_config(&diags))
}

/// The unsubscribe key, required (tokens are checked or made); exit 2 without it.
pub(crate) fn require_unsubscribe_key(cfg: &Config) -> anyhow::Result<crate::keys::UnsubscribeKey> {
    crate::keys::Keys::require_unsubscribe(cfg).map_err(|diags| invalid_config(&diags))
}

fn invalid_config(diags: &[crate::diag::Diagnostic]) -> anyhow::Error {
    for d in diags {
        output::diagnostic(d);
    }
    crate::exit::reported(Exit::Invalid)
}

/// Every entry of the subscriber list (every status): the subscriber files
/// plus the confirmed sign-ups, printing its problems. Any error in the list
/// means exit 2: nothing is sent from a broken list.
pub(crate) fn load_list(cfg: &Config) -> anyhow::Result<Vec<crate::subscribers::Subscriber>> {
    let mut list = crate::subscribers::load(&cfg.paths.subscribers);
    add_signups(cfg, &mut list)?;
    for d in &list.diagnostics {
        output::diagnostic(d);
    }
    if list.has_errors() {
        return Err(Failure::new(
            Exit::Invalid,
            format!(
                "{}: the subscriber list has errors: nothing was sent",
                cfg.paths.subscribers.display()
            ),
        ));
    }
    Ok(list.all)
}

/// Adds the confirmed sign-ups kept in the state database to `list`. A dry
/// run on a fresh folder must not create the database just to read it.
pub(crate) fn add_signups(cfg: &Config, list: &mut crate::subscribers::Subscribers) -> anyhow::Result<()> {
    let db = cfg.paths.state.join(crate::state::DB_FILE);
    if db.is_file() {
        let confirmed = crate::state::open(&cfg.paths.state).and_then(|c| crate::state::signups::confirmed(&c));
        let confirmed = confirmed
            .map_err(|e| crate::exit::default_to(e, Exit::Aborted, "cannot read the sign-ups in the state database"))?;
        list.add_confirmed(&db, confirmed);
    }
    Ok(())
}
