//! `newsletter send`: the command line becomes one [`SendPlan`]; then one
//! issue goes out (`send_one.rs`), or `--due` picks the issues
//! (`send_due.rs`). The modules below it: `send_one.rs` sends one issue in
//! the plan's mode, `send_live.rs` runs a live send with the lock, the caps
//! and the journal, and `send_steps.rs` holds the steps they share.

use super::send_one::send_issue;
use super::{load_config, load_issue, load_keys};
use crate::cli::SendArgs;
use crate::exit::Exit;
use crate::output;
use crate::send::plan::{Env, SendPlan, Target};
use crate::state::journal;
use std::io::IsTerminal;

pub fn run(config_path: &std::path::Path, args: SendArgs) -> anyhow::Result<Exit> {
    // Under cron, systemd or a log file every line carries its time.
    output::set_stamps(!std::io::stderr().is_terminal());
    let cfg = load_config(config_path)?;
    let env = Env::from_process();
    let plan = SendPlan::new(&args, &cfg, &env)?;
    if env.date.is_some() {
        journal::set_clock(plan.now.into());
    }
    let keys = load_keys(&cfg)?;
    match &plan.target {
        Target::Issue(arg) => {
            let path = super::issue_arg::resolve(&cfg, &arg.to_string_lossy())?;
            Ok(send_issue(&cfg, &keys, &plan, &load_issue(&path)?, None)?.exit)
        }
        Target::Due => super::send_due::run(&cfg, &keys, &plan),
    }
}
