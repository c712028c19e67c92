//! One module per subcommand; `run` sets up output and dispatches.

mod bounce_intake;
mod bounces;
mod check;
mod export;
mod preview;
mod progress;
mod send;
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
        Command::Check(a) => check::run(&config_path, a),
        Command::Preview(a) => preview::run(&config_path, a),
        Command::Send(a) => send::run(&config_path, a),
        Command::Status(a) => status::run(&config_path, a),
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
        Failure::new(Exit::Invalid, format!("{}: invalid configuration", path.display()))
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
            Err(Failure::new(
                Exit::Invalid,
                format!("{}: invalid issue", path.display()),
            ))
        }
    }
}

/// Every `*.md` file in the issues folder, sorted by name.
pub(crate) fn issue_files(dir: &Path) -> Result<Vec<PathBuf>, crate::diag::Diagnostic> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| crate::diag::Diagnostic::error(dir, 0, 0, format!("cannot read the issues folder: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    Ok(files)
}

/// The keys messages need (DKIM, unsubscribe); problems are printed and mean exit 2.
pub(crate) fn load_keys(cfg: &Config) -> anyhow::Result<crate::keys::Keys> {
    crate::keys::Keys::load(cfg).map_err(|diags| invalid_config(cfg, &diags))
}

/// The unsubscribe key, required (tokens are checked or made); exit 2 without it.
pub(crate) fn require_unsubscribe_key(cfg: &Config) -> anyhow::Result<crate::keys::UnsubscribeKey> {
    crate::keys::Keys::require_unsubscribe(cfg).map_err(|diags| invalid_config(cfg, &diags))
}

fn invalid_config(cfg: &Config, diags: &[crate::diag::Diagnostic]) -> anyhow::Error {
    for d in diags {
        output::diagnostic(d);
    }
    Failure::new(Exit::Invalid, format!("{}: invalid configuration", cfg.path.display()))
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
