//! `newsletter check`: validate the config, the subscribers and the issues.

use crate::cli::CheckArgs;
use crate::exit::Exit;
use std::path::Path;

pub fn run(_config: &Path, _args: CheckArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("check: not implemented yet")
}
