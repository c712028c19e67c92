//! One module per subcommand; `run` sets up output and dispatches.

mod check;
mod preview;
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
