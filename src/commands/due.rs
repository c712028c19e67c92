//! `newsletter send --due`: every issue whose date has passed, not a draft,
//! not finished and not older than `max_age_days`, for cron.

use crate::cli::SendArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::output;

pub fn run(cfg: &Config, args: &SendArgs, shard: Option<(u64, u64)>) -> anyhow::Result<Exit> {
    let now = chrono::Utc::now();
    let max_age = chrono::Duration::days(i64::from(cfg.newsletter.max_age_days));
    let mut due = Vec::new();
    let files = super::issue_files(&cfg.paths.issues).map_err(|d| {
        output::diagnostic(&d);
        crate::exit::Failure::new(Exit::Invalid, "no issues to look at")
    })?;
    for path in files {
        let issue = super::load_issue(&path)?;
        let date = issue.front.date.with_timezone(&chrono::Utc);
        if issue.front.draft || date > now {
            continue;
        }
        let finished = if args.dry_run {
            None
        } else {
            let conn = crate::state::open(&cfg.paths.state)?;
            crate::journal::finished_at(&conn, &issue.id)?
        };
        if finished.is_some() {
            continue;
        }
        if now - date > max_age {
            output::warn(&format!(
                "{}: dated {}, older than max_age_days = {}: not sent (send it by name to override)",
                path.display(),
                issue.front.date.format("%Y-%m-%d %H:%M %:z"),
                cfg.newsletter.max_age_days
            ));
            continue;
        }
        due.push(issue);
    }
    if due.is_empty() {
        output::log("nothing due");
        return Ok(Exit::Ok);
    }
    let mut worst = Exit::Ok;
    for issue in &due {
        let exit = super::send::send_issue(cfg, issue, args, shard)?;
        if exit != Exit::Ok {
            worst = exit;
        }
        if exit == Exit::Aborted {
            break;
        }
    }
    Ok(worst)
}
