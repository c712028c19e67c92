//! `newsletter send`: deliver an issue (or every due issue) to the list.

use crate::cli::SendArgs;
use crate::exit::Exit;
use std::path::Path;

pub fn run(_config: &Path, _args: SendArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("send: not implemented yet")
}
