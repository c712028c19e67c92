//! `newsletter unsubscribe`, `resubscribe` and `serve` (alias `serve-unsubscribe`).

use super::load_config;
use crate::cli::{ResubscribeArgs, ServeArgs, UnsubscribeArgs};
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::output;
use crate::state::{self, suppression};
use crate::subscribers::{self, validate_email, Status};
use std::path::Path;

pub fn unsubscribe(config_path: &Path, args: UnsubscribeArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let (email, source) = match (&args.email, &args.token) {
        (_, Some(token)) => {
            let key = super::require_unsubscribe_key(&cfg)?;
            let email = crate::token::verify(key.bytes(), &cfg.newsletter.list_id, token).ok_or_else(|| {
                Failure::new(
                    Exit::Invalid,
                    "invalid unsubscribe token (altered, or made with another key or list)",
                )
            })?;
            (email, "token")
        }
        (Some(email), None) => (checked_address(email)?, "cli"),
        (None, None) => return Err(Failure::new(Exit::Invalid, "give an address or --token TOKEN")),
    };
    let conn = state::open(&cfg.paths.state)?;
    if suppression::suppress(&conn, &email, suppression::Reason::Unsubscribed, source)? {
        println!("unsubscribed {email}");
    } else if let Some(s) = suppression::get(&conn, &email)? {
        println!(
            "{email} was already suppressed ({}, {}, since {})",
            s.reason, s.source, s.created_at
        );
    }
    if !on_the_list(&cfg, &email) {
        output::warn(&format!("{email} is not in the subscriber list (suppressed anyway)"));
    }
    Ok(Exit::Ok)
}

pub fn resubscribe(config_path: &Path, args: ResubscribeArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let email = checked_address(&args.email)?;
    let conn = state::open(&cfg.paths.state)?;
    if suppression::unsuppress(&conn, &email)? {
        println!("resubscribed {email}");
    } else {
        println!("{email} was not suppressed");
    }
    let list = subscribers::load(&cfg.paths.subscribers);
    match list.find(&email) {
        None => output::warn(&format!(
            "{email} is not in the subscriber list; add it to a file in subscribers/ to mail it"
        )),
        Some(s) if s.status != Status::Active => output::warn(&format!(
            "{email} is marked {} in {}:{}; change its status there to mail it again",
            s.status,
            s.file.display(),
            s.line
        )),
        Some(_) => {}
    }
    Ok(Exit::Ok)
}

pub fn serve(config_path: &Path, args: ServeArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let key = super::require_unsubscribe_key(&cfg)?;
    let keys = super::load_keys(&cfg)?;
    crate::serve::run(cfg, key, keys.dkim, &args.listen)?;
    Ok(Exit::Ok)
}

/// The address, lower-cased, or exit 2 with the validation message.
fn checked_address(email: &str) -> anyhow::Result<String> {
    validate_email(email)
        .map(|e| crate::address::key(&e))
        .map_err(|msg| Failure::new(Exit::Invalid, msg))
}

fn on_the_list(cfg: &Config, email: &str) -> bool {
    subscribers::load(&cfg.paths.subscribers).find(email).is_some()
}
