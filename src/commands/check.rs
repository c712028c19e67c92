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
        let mut files = Vec::new();
        for arg in &args.issues {
            match super::issue_arg::resolve(&config, &arg.to_string_lossy()) {
                Ok(p) => files.push(p),
                Err(e) => diags.push(Diagnostic::error(&config.paths.issues, 0, 0, format!("{e:#}"))),
            }
        }
        files
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
    diags.extend(super::check_send::smtp(&config, args.smtp));
    diags.extend(super::check_send::address_warnings(&config));
    let (dkim, publish) = super::check_send::dkim(&config);
    diags.extend(dkim);
    let mut connected = None;
    if args.smtp {
        match super::check_send::connect(&config) {
            Ok(line) => connected = Some(line),
            Err(d) => diags.push(d),
        }
    }

    for d in &diags {
        output::diagnostic(d);
    }
    if !output::quiet() {
        publish.iter().chain(&connected).for_each(|line| println!("{line}"));
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

/// The keys, the subject template, the subscriber list, and for each issue
/// what sending it would build: the rendered body (warning above Gmail's
/// clipping size) and the per-issue headers (line breaks from the front matter).
fn check_list_and_messages(config: &Config, issues: &[Issue]) -> Vec<Diagnostic> {
    let (keys, mut diags) = match crate::keys::Keys::load(config) {
        Ok(keys) => (Some(keys), Vec::new()),
        Err(diags) => (None, diags),
    };
    if let Err(e) = crate::message::check_subject_template(&config.newsletter.subject) {
        diags.push(config.diagnostic_at("newsletter.subject", true, e));
    }
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
    // With a broken key or template every issue would repeat the same error.
    let Some(keys) = keys.filter(|_| diags.iter().all(|d| !d.is_error())) else {
        return diags;
    };
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
        let now = std::time::SystemTime::now();
        if let Err(e) = crate::message::MessageFactory::new(config, issue, &prepared, &keys, now) {
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
