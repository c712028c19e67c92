//! One module per subcommand; `run` sets up output and dispatches.

mod check;
mod due;
mod preview;
mod progress;
mod send;
mod status;
mod subscribers;
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
        Command::ServeUnsubscribe(a) => unsubscribe::serve(&config_path, a),
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

/// Every issue in the issues folder (posts, page bundles, sections), sorted by path.
pub(crate) fn issue_files(dir: &Path) -> Result<Vec<PathBuf>, crate::diag::Diagnostic> {
    crate::issue::files::issue_files(dir)
}

/// The active, non-suppressed subscribers, and how many entries were left
/// out (inactive in the files, or on the suppression list). Any error in the list means exit 2: nothing is sent.
pub(crate) fn load_recipients(cfg: &Config) -> anyhow::Result<(Vec<crate::subscribers::Subscriber>, usize)> {
    // A dry run on a fresh folder must not create the database just to read it.
    let suppressed = if cfg.paths.state.join(crate::state::DB_FILE).exists() {
        let conn = crate::state::open(&cfg.paths.state)?;
        crate::state::suppression::suppressed_set(&conn)?
    } else {
        Default::default()
    };
    let all = crate::subscribers::load(&cfg.paths.subscribers);
    for d in &all.diagnostics {
        output::diagnostic(d);
    }
    if all.has_errors() {
        return Err(Failure::new(
            Exit::Invalid,
            format!(
                "{}: the subscriber list has errors: nothing was sent",
                cfg.paths.subscribers.display()
            ),
        ));
    }
    let total = all.all.len();
    let recipients: Vec<_> = all.all.into_iter().filter(|s| s.is_recipient(&suppressed)).collect();
    let skipped = total - recipients.len();
    Ok((recipients, skipped))
}
