//! `newsletter preview`: render one issue for one reader into files and a viewer page.

use crate::cli::PreviewArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::{output, preview};
use std::path::{Path, PathBuf};

pub fn run(config: &Path, args: PreviewArgs) -> anyhow::Result<Exit> {
    let cfg = super::load_config(config)?;
    let keys = super::load_keys(&cfg)?;
    let issue_path = super::issue_arg::resolve(&cfg, &args.issue.to_string_lossy())?;
    let reader =
        preview::reader(&cfg, args.as_email.as_deref()).map_err(|e| Failure::new(Exit::Invalid, format!("{e:#}")))?;
    if args.serve {
        return serve(config, &cfg, &args, issue_path, reader);
    }
    let issue = super::load_issue(&issue_path)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| preview::default_out_dir(&cfg, &issue.id));
    preview::build(&issue, &cfg, &keys, &reader, false)?.write(&out)?;
    output::log(&format!("wrote {}", out.join("index.html").display()));
    if args.open {
        let index = std::fs::canonicalize(out.join("index.html"))?;
        preview::serve::open_browser(&format!("file://{}", index.display()));
    }
    Ok(Exit::Ok)
}

/// `--serve`: the viewer stays up while the issue is edited, and shows the
/// problems (`file:line:col: message`) whenever it does not build, from the
/// first build on.
fn serve(
    config: &Path,
    cfg: &Config,
    args: &PreviewArgs,
    issue_path: PathBuf,
    reader: preview::Reader,
) -> anyhow::Result<Exit> {
    let id = match crate::issue::from_file(&issue_path) {
        Ok(parsed) => parsed.issue.id,
        Err(_) => issue_path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    };
    let out = args.out.clone().unwrap_or_else(|| preview::default_out_dir(cfg, &id));
    let watched = watched_paths(config, cfg, &issue_path);
    let (config_path, out_dir) = (config.to_path_buf(), out.clone());
    let rebuild = move || match rebuild(&config_path, &issue_path, &reader, &out_dir) {
        Ok(()) => output::log(&format!("wrote {}", out_dir.join("index.html").display())),
        Err(e) => {
            output::warn(&format!("preview not rebuilt: {e:#}"));
            let page = preview::error_index(&issue_path.display().to_string(), &format!("{e:#}"), true);
            let written = page.and_then(|page| {
                crate::files::create_private_dir(&out_dir)?;
                Ok(crate::files::write_private(
                    &out_dir.join("index.html"),
                    page.as_bytes(),
                )?)
            });
            if let Err(e) = written {
                output::warn(&format!("cannot write the error page: {e:#}"));
            }
        }
    };
    rebuild();
    preview::serve::serve(args.port, args.open, out, watched, rebuild)?;
    Ok(Exit::Ok)
}

/// Rebuilds the preview; an error carries every problem as its
/// `file:line:col: message` line, for the page to show.
fn rebuild(config: &Path, issue: &Path, reader: &preview::Reader, out: &Path) -> anyhow::Result<()> {
    let lines = |diags: Vec<crate::diag::Diagnostic>| {
        anyhow::anyhow!(diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    };
    let cfg = crate::config::load(config).map_err(lines)?;
    let keys = crate::keys::Keys::load(&cfg).map_err(lines)?;
    // The page shows the issue's errors themselves, with their lines.
    let parsed = crate::issue::from_file(issue).map_err(lines)?;
    parsed.warnings.iter().for_each(output::diagnostic);
    preview::build(&parsed.issue, &cfg, &keys, reader, true)?.write(out)
}

/// The issue, the config and the subscribers. The templates are compiled
/// into the binary: there is no folder of them to watch.
fn watched_paths(config: &Path, cfg: &Config, issue: &Path) -> Vec<PathBuf> {
    vec![issue.to_path_buf(), config.to_path_buf(), cfg.paths.subscribers.clone()]
}
