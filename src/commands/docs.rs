//! `newsletter completions SHELL` and `newsletter man`: shell completion
//! scripts and man pages, generated from the same clap definitions as the
//! command line itself (clap_complete, clap_mangen), so they never drift.

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::Exit;
use anyhow::Context;
use clap::CommandFactory;

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "newsletter", &mut std::io::stdout());
    Ok(Exit::Ok)
}

pub fn man(args: &ManArgs) -> anyhow::Result<Exit> {
    let cmd = Cli::command();
    let Some(dir) = &args.out else {
        clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
        return Ok(Exit::Ok);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd, dir).with_context(|| format!("writing man pages into {}", dir.display()))?;
    if !crate::output::quiet() {
        println!("wrote the man pages into {} (try: man newsletter)", dir.display());
    }
    Ok(Exit::Ok)
}
