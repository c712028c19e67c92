//! `newsletter subscribers list|count|check|import`.

use crate::cli::SubscribersCommand;
use crate::exit::Exit;
use std::path::Path;

pub fn run(_config: &Path, _cmd: SubscribersCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("subscribers: not implemented yet")
}
