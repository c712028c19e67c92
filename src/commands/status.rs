//! `newsletter status`: delivery state per issue, as text or stable JSON.

use crate::cli::StatusArgs;
use crate::exit::Exit;
use std::path::Path;

pub fn run(_config: &Path, _args: StatusArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("status: not implemented yet")
}
