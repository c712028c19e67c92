//! `newsletter suppressions [--reason R] [--json]`: the addresses that are
//! never mailed, why, who or what asked, and when; oldest first.

use super::load_config;
use crate::cli::{SuppressionReason, SuppressionsArgs};
use crate::exit::Exit;
use crate::state::suppression::{self, Reason};
use std::io::Write;

pub fn run(config_path: &std::path::Path, args: SuppressionsArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    // Reading must not create a database on a fresh folder.
    let rows = if cfg.paths.state.join(crate::state::DB_FILE).is_file() {
        suppression::all(&crate::state::open(&cfg.paths.state)?)?
    } else {
        Vec::new()
    };
    let wanted = args.reason.map(|r| match r {
        SuppressionReason::Unsubscribed => Reason::Unsubscribed,
        SuppressionReason::Bounced => Reason::Bounced,
        SuppressionReason::Complained => Reason::Complained,
        SuppressionReason::Manual => Reason::Manual,
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut n = 0;
    for s in rows.iter().filter(|s| wanted.is_none_or(|w| s.reason == w)) {
        n += 1;
        let line = if args.json {
            serde_json::json!({
                "email": s.email, "reason": s.reason.as_str(), "source": s.source, "created_at": s.created_at,
            })
            .to_string()
        } else {
            format!("{} {} {} ({})", s.created_at, s.reason, s.email, s.source)
        };
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(Exit::Ok);
            }
            return Err(e.into());
        }
    }
    out.flush()?;
    if n == 0 && !args.json && !crate::output::quiet() {
        eprintln!("no suppressed addresses");
    }
    Ok(Exit::Ok)
}
