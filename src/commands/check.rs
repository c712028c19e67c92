//! `newsletter check`: validate the config, the subscribers and the issues,
//! and what sending them would produce: the rendered HTML's accessibility and
//! compatibility (`render::audit`), the theme's contrast, the personal
//! fields. [`gate`] runs the same checks before a live send.

use super::load_config;
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::exit::{Exit, Failure};
use crate::issue::{self, Issue};
use crate::output;
use crate::subscribers::Subscriber;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

pub fn run(config_path: &Path, args: CheckArgs) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    let mut diags: Vec<Diagnostic> = Vec::new();

    let files = if args.issues.is_empty() {
        match super::issue_files_checked(&config.paths.issues) {
            Ok((files, skipped)) => {
                diags.extend(skipped);
                files
            }
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

/// The keys, the subscriber list, the theme and personal fields, and for
/// each issue what sending it would build: the rendered body (audited) and
/// the per-issue headers (line breaks from the front matter).
fn check_list_and_messages(config: &Config, issues: &[Issue]) -> Vec<Diagnostic> {
    let (keys, mut diags) = match crate::keys::Keys::load(config) {
        Ok(keys) => (Some(keys), Vec::new()),
        Err(diags) => (None, diags),
    };
    let mut list = Vec::new();
    if config.paths.subscribers.is_dir() {
        let loaded = crate::subscribers::load(&config.paths.subscribers);
        diags.extend(loaded.diagnostics);
        list = loaded.all;
    } else {
        diags.push(Diagnostic::warning(
            &config.paths.subscribers,
            0,
            0,
            "no subscribers folder",
        ));
    }
    diags.extend(config_problems(config, &columns(&list)));
    // With a broken key every issue would repeat the same error.
    let Some(keys) = keys else {
        return diags;
    };
    for issue in issues {
        diags.extend(issue_problems(config, issue, &keys));
    }
    diags
}

/// The theme's contrast and the personal fields of the subject and the
/// theme's header and footer: errors that name the config line.
fn config_problems(config: &Config, columns: &[String]) -> Vec<Diagnostic> {
    let mut diags = crate::config::theme::contrast_problems(&config.theme, &config.path);
    let t = &config.theme;
    let templates = [
        (
            "[newsletter] subject",
            Some((
                config.newsletter.subject.as_str(),
                config.spans.key("newsletter.subject").0,
            )),
        ),
        ("[theme] header", t.header.as_ref().map(|s| (s.text.as_str(), s.line))),
        ("[theme] footer", t.footer.as_ref().map(|s| (s.text.as_str(), s.line))),
    ];
    for (what, template) in templates {
        let Some((text, line)) = template else { continue };
        let Ok(parsed) = crate::fields::Template::parse(text) else {
            continue;
        };
        for f in parsed.fields() {
            if crate::fields::is_known(&f.name, columns) {
                continue;
            }
            let known = if columns.is_empty() {
                "none".to_string()
            } else {
                columns.join(", ")
            };
            let msg = format!(
                "{what}: unknown field `{{{}}}` (issue fields: {}; subscriber fields: name, email; columns of the list: {known})",
                f.name,
                crate::fields::ISSUE_FIELDS.join(", ")
            );
            let col = usize::from(line > 0);
            diags.push(Diagnostic::error(&config.path, line, col, msg));
        }
    }
    diags
}

/// What sending `issue` would build: rendering, the audit of the HTML body
/// (for a sample reader) and the message headers.
fn issue_problems(config: &Config, issue: &Issue, keys: &crate::keys::Keys) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let prepared = match crate::render::prepare(issue, config) {
        Ok(p) => p,
        Err(e) => {
            diags.push(Diagnostic::error(&issue.path, 1, 1, format!("cannot render: {e:#}")));
            return diags;
        }
    };
    let reader = crate::render::Personal {
        name: Some("Reader"),
        email: "reader@example.com",
        unsubscribe_url: Some("https://example.com/unsubscribe?token=sample-token-of-typical-length-0123456789"),
        attributes: &[],
    };
    let source = crate::files::read_text(&issue.path, crate::files::MAX_ISSUE_BYTES).unwrap_or_default();
    diags.extend(crate::render::audit::audit(
        issue,
        config,
        &prepared.html(&reader),
        &source,
    ));
    let now = std::time::SystemTime::now();
    if let Err(e) = crate::message::MessageFactory::new(config, issue, &prepared, keys, now) {
        diags.push(Diagnostic::error(&issue.path, 1, 1, format!("{e:#}")));
    }
    diags
}

/// The names of the list's other columns (`city`, `plan`), sorted.
fn columns(list: &[Subscriber]) -> Vec<String> {
    let set: BTreeSet<&str> = list
        .iter()
        .flat_map(|s| s.attributes.iter().map(|(k, _)| &**k))
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// The pre-send gate: a live send of `issue` to a list with these `columns`
/// refuses to start while `check` would report an error for it. Prints
/// every problem found.
pub(super) fn gate(config: &Config, keys: &crate::keys::Keys, issue: &Issue, columns: &[String]) -> anyhow::Result<()> {
    let mut diags = config_problems(config, columns);
    diags.extend(issue_problems(config, issue, keys));
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors == 0 {
        return Ok(());
    }
    for d in diags.iter().filter(|d| d.is_error()) {
        output::diagnostic(d);
    }
    Err(Failure::new(
        Exit::Invalid,
        format!(
            "{}: `newsletter check` finds {errors} error{}: nothing was sent",
            issue.path.display(),
            plural(errors)
        ),
    ))
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
