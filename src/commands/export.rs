//! `newsletter subscribers export [--out FILE]`: everyone on the list as one
//! CSV — the subscriber files (every status) and the sign-ups in the state
//! database (confirmed and pending) — with each address's effective status
//! after suppression and, for sign-ups, the proof of consent. The columns
//! `email,name,status` come first, so `subscribers import` reads it back.

use crate::cli::ExportArgs;
use crate::config::Config;
use crate::exit::{Exit, Failure};
use crate::state::{self, signups, suppression};
use crate::subscribers::{self, Status};
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;

const FIXED: [&str; 9] = [
    "email",
    "name",
    "status",
    "source",
    "requested_at",
    "confirmed_at",
    "request_ip",
    "confirm_ip",
    "suppressed",
];

pub fn run(cfg: &Config, args: ExportArgs) -> anyhow::Result<Exit> {
    let files = subscribers::load(&cfg.paths.subscribers);
    if files.has_errors() {
        for d in &files.diagnostics {
            crate::output::diagnostic(d);
        }
        return Err(Failure::new(
            Exit::Invalid,
            "the subscriber list has errors: fix them first",
        ));
    }
    let conn = state::open(&cfg.paths.state)?;
    let bytes = csv_bytes(&conn, &files)?;
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
        Some(path) => write_private(path, &bytes).with_context(|| format!("writing {}", path.display()))?,
    }
    Ok(Exit::Ok)
}

/// The columns after `email,name,status,source`, for a sign-up or none.
fn consent(conn: &rusqlite::Connection, key: &str, signup: Option<&signups::Signup>) -> anyhow::Result<Vec<String>> {
    let field = |f: fn(&signups::Signup) -> Option<String>| signup.and_then(f).unwrap_or_default();
    Ok(vec![
        field(|s| Some(s.requested_at.clone())),
        field(|s| s.confirmed_at.clone()),
        field(|s| s.request_ip.clone()),
        field(|s| s.confirm_ip.clone()),
        suppression::get(conn, key)?
            .map(|x| x.reason.to_string())
            .unwrap_or_default(),
    ])
}

fn csv_bytes(conn: &rusqlite::Connection, files: &subscribers::Subscribers) -> anyhow::Result<Vec<u8>> {
    let signups: HashMap<String, signups::Signup> =
        signups::all(conn)?.into_iter().map(|s| (s.email.clone(), s)).collect();
    let mut attributes: Vec<Arc<str>> = Vec::new();
    for s in &files.all {
        for (k, _) in &s.attributes {
            if !attributes.contains(k) && !FIXED.contains(&&**k) {
                attributes.push(Arc::clone(k));
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = FIXED.to_vec();
    header.extend(attributes.iter().map(|a| &**a));
    w.write_record(&header)?;
    let mut done = HashSet::new();
    for s in &files.all {
        let key = s.key();
        let signup = signups.get(&key);
        let confirmed = signup.is_some_and(|x| x.confirmed) && s.status != Status::Blocklisted;
        let status = effective(conn, &key, if confirmed { Status::Active } else { s.status })?;
        let mut rec = vec![s.email.clone(), s.name.clone().unwrap_or_default(), status];
        rec.push(format!("{}:{}", s.file.display(), s.line));
        rec.extend(consent(conn, &key, signup)?);
        rec.extend(attributes.iter().map(|a| s.attribute(a).unwrap_or("").to_string()));
        w.write_record(&rec)?;
        done.insert(key);
    }
    let mut rest: Vec<&signups::Signup> = signups.values().filter(|s| !done.contains(&s.email)).collect();
    rest.sort_by(|a, b| a.email.cmp(&b.email));
    for s in rest {
        let base = if s.confirmed { Status::Active } else { Status::Pending };
        let mut rec = vec![
            s.address.clone(),
            s.name.clone().unwrap_or_default(),
            effective(conn, &s.email, base)?,
        ];
        rec.push(format!("sign-up ({})", s.source));
        rec.extend(consent(conn, &s.email, Some(s))?);
        rec.extend(attributes.iter().map(|_| String::new()));
        w.write_record(&rec)?;
    }
    w.into_inner().context("writing CSV")
}

/// The status word after suppression: a suppressed address is not subscribed,
/// whatever the file says.
fn effective(conn: &rusqlite::Connection, key: &str, status: Status) -> anyhow::Result<String> {
    let word = match suppression::get(conn, key)?.map(|s| s.reason) {
        None => status,
        Some(suppression::Reason::Bounced) => Status::Bounced,
        Some(suppression::Reason::Complained) => Status::Blocklisted,
        Some(_) => Status::Unsubscribed,
    };
    Ok(word.as_str().to_string())
}

/// Writes a file only its owner can read (it holds addresses), replacing it
/// whole: a temporary file in the same folder, then a rename.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("export"),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}
