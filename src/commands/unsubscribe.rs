//! `newsletter unsubscribe`, `resubscribe` and `serve-unsubscribe`.

use crate::cli::{ResubscribeArgs, ServeUnsubscribeArgs, UnsubscribeArgs};
use crate::exit::Exit;
use std::path::Path;

pub fn unsubscribe(_config: &Path, _args: UnsubscribeArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("unsubscribe: not implemented yet")
}

pub fn resubscribe(_config: &Path, _args: ResubscribeArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("resubscribe: not implemented yet")
}

pub fn serve(_config: &Path, _args: ServeUnsubscribeArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("serve-unsubscribe: not implemented yet")
}
