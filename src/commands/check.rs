//! `newsletter check`: validate the config, the subscribers and the issues.

use super::load_config;
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::exit::Exit;
use crate::issue::{self, Issue};
use crate::output;
use std::collections::HashMap;
use std::path::Path;

pub fn run(config_path: &Path, args: CheckArgs) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    let mut diags: Vec<Diagnostic> = Vec::new();

    let files = if args.issues.is_empty() {
        match super::issue_files(&config.paths.issues) {
            Ok(files) => files,
            Err(d) => {
                diags.push(d);
                Vec::new()
            }
        }
    } else {
        args.issues.clone()
    };

    let mut issues: Vec<Issue> = Vec::new();
    for file in &files {
        match issue::from_file(file) {
            Ok(parsed) => {
                diags.extend(parsed.warnings);
                issues.push(parsed.issue);
            }
            Err(errors) => diags.extend(errors),
        }
    }
    diags.extend(duplicate_ids(&issues));

    diags.extend(check_list_and_messages(&config, &issues));

    for d in &diags {
        output::diagnostic(d);
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if !output::quiet() {
        println!(
            "checked {} issue{}: {errors} error{}, {warnings} warning{}",
            files.len(),
            plural(files.len()),
            plural(errors),
            plural(warnings)
        );
    }
    Ok(if errors > 0 { Exit::Invalid } else { Exit::Ok })
}

/// The unsubscribe key, the subscriber list, and for each issue what sending
/// it would build: the rendered body (warning above Gmail's clipping size) and
/// the per-issue headers (subject template, line breaks, DKIM key).
fn check_list_and_messages(config: &Config, issues: &[Issue]) -> Vec<Diagnostic> {
    let mut diags = crate::token::check_config(config);
    if config.paths.subscribers.is_dir() {
        diags.extend(crate::subscribers::load(&config.paths.subscribers).diagnostics);
    } else {
        diags.push(Diagnostic::warning(
            &config.paths.subscribers,
            0,
            0,
            "no subscribers folder",
        ));
    }
    for issue in issues {
        let prepared = match crate::render::prepare(issue, config) {
            Ok(p) => p,
            Err(e) => {
                diags.push(Diagnostic::error(&issue.path, 1, 1, format!("cannot render: {e:#}")));
                continue;
            }
        };
        if let Some(w) = prepared.clip_warning() {
            diags.push(Diagnostic::warning(&issue.path, 1, 1, w));
        }
        if let Err(e) = crate::message::MessageFactory::new(config, issue, &prepared, std::time::SystemTime::now()) {
            // A short key is reported once, by check_config, not per issue.
            if e.downcast_ref::<crate::config::ShortKey>().is_some() {
                continue;
            }
            diags.push(Diagnostic::error(&issue.path, 1, 1, format!("{e:#}")));
        }
    }
    diags
}

/// Two issues with one id would share a journal entry and an outbox folder.
fn duplicate_ids(issues: &[Issue]) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, &Path> = HashMap::new();
    let mut out = Vec::new();
    for issue in issues {
        match first.get(issue.id.as_str()) {
            Some(other) => out.push(
                Diagnostic::error(
                    &issue.path,
                    1,
                    1,
                    format!("issue id `{}` is also used by {}", issue.id, other.display()),
                )
                .with_hint("give one of them a different `slug`"),
            ),
            None => {
                first.insert(&issue.id, &issue.path);
            }
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
