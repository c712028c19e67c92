//! `newsletter preview`: render one issue for one reader into files and a viewer page.

use crate::cli::PreviewArgs;
use crate::exit::Exit;
use std::path::Path;

pub fn run(_config: &Path, _args: PreviewArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("preview: not implemented yet")
}
