//! `newsletter preview`: render one issue for one reader into files and a viewer page.

use crate::cli::PreviewArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::{output, preview};
use std::path::{Path, PathBuf};

pub fn run(config: &Path, args: PreviewArgs) -> anyhow::Result<Exit> {
    let cfg = super::load_config(config)?;
    let keys = super::load_keys(&cfg)?;
    let issue = super::load_issue(&args.issue)?;
    let reader =
        preview::reader(&cfg, args.as_email.as_deref()).map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| preview::default_out_dir(&cfg, &issue.id));
    preview::build(&issue, &cfg, &keys, &reader, args.serve)?.write(&out)?;
    output::log(&format!("wrote {}", out.join("index.html").display()));
    if !args.serve {
        if args.open {
            let index = std::fs::canonicalize(out.join("index.html"))?;
            preview::serve::open_browser(&format!("file://{}", index.display()));
        }
        return Ok(Exit::Ok);
    }
    let watched = watched_paths(config, &cfg, &args.issue);
    let (config_path, issue_path, out_dir) = (config.to_path_buf(), args.issue.clone(), out.clone());
    let rebuild = move || {
        if let Err(e) = rebuild(&config_path, &issue_path, &reader, &out_dir) {
            output::warn(&format!("preview not rebuilt: {e:#}"));
            let page = preview::error_index(&issue_path.display().to_string(), &format!("{e:#}"), true);
            if let Ok(page) = page {
                let _ = std::fs::write(out_dir.join("index.html"), page);
            }
        } else {
            output::log("preview rebuilt");
        }
    };
    preview::serve::serve(args.port, args.open, out, watched, rebuild)?;
    Ok(Exit::Ok)
}

fn rebuild(config: &Path, issue: &Path, reader: &preview::Reader, out: &Path) -> anyhow::Result<()> {
    let lines = |diags: Vec<crate::diag::Diagnostic>| {
        anyhow::anyhow!(diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    };
    let cfg = crate::config::load(config).map_err(lines)?;
    let keys = crate::keys::Keys::load(&cfg).map_err(lines)?;
    let issue = super::load_issue(issue)?;
    preview::build(&issue, &cfg, &keys, reader, true)?.write(out)
}

/// The issue, the config and the subscribers. The templates are compiled
/// into the binary: there is no folder of them to watch.
fn watched_paths(config: &Path, cfg: &Config, issue: &Path) -> Vec<PathBuf> {
    vec![issue.to_path_buf(), config.to_path_buf(), cfg.paths.subscribers.clone()]
}
