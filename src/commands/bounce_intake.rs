//! `newsletter bounces import PATH...` and `newsletter bounces fetch`: read
//! returned mail, record each bounce and complaint against its issue and
//! subscriber, then suppress the addresses the `[bounces]` thresholds say
//! to, printing each one. Importing a report twice counts it once.
//!
//! Exit codes: 0 every message was read (recorded, already recorded, not
//! ours or not a bounce); 1 some messages could not be read (the others were
//! recorded); 2 invalid usage or configuration, nothing recorded; 3 the
//! state database or the IMAP server failed (what was recorded stays; run
//! again). `import --sysexits` maps them for a mail system's pipe: 0, 65,
//! 78, 75.

use super::{load_config, load_list};
use crate::bounce::{self, input};
use crate::cli::BouncesImportArgs;
use crate::config::Config;
use crate::exit::{exit_for, Exit, Failure};
use crate::intake::imap::{self, Decision, Handler};
use crate::intake::matching::Directory;
use crate::intake::{Fate, Handled, Importer};
use crate::output;
use crate::state::{self, bounces as records, journal};
use rusqlite::Connection;

pub fn import(config_path: &std::path::Path, args: BouncesImportArgs) -> anyhow::Result<Exit> {
    let result = run_import(config_path, &args);
    if !args.sysexits {
        return result;
    }
    // sysexits.h, as Postfix's pipe and local delivery read them: 75 is
    // "try again later"; 65 and 78 return the message to its sender.
    let code = match &result {
        Ok(Exit::Ok) => 0,
        Ok(_) => 65,
        Err(e) => {
            output::print_error(e);
            match exit_for(e) {
                Exit::Invalid => 78,
                _ => 75,
            }
        }
    };
    std::process::exit(code)
}

fn run_import(config_path: &std::path::Path, args: &BouncesImportArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let conn = open_state(&cfg)?;
    let directory = directory(&cfg, &conn)?;
    let mut importer = Importer::new(&conn, directory, cfg.bounces.thresholds);
    let mut failed: Option<anyhow::Error> = None;
    for path in &args.paths {
        input::read(path, &mut |source, bytes| {
            if failed.is_some() {
                return;
            }
            let source = source.to_string();
            let bytes = match bytes {
                Ok(b) => b,
                Err(e) => return unreadable(&mut importer, &source, &e.to_string()),
            };
            if let Err(e) = take(&mut importer, &source, &bytes) {
                failed = Some(e);
            }
        });
    }
    finish(&mut importer, "bounces import", failed)
}

/// Parses, records and reports one message; Ok(None) when it is unreadable.
fn take(importer: &mut Importer<'_>, source: &str, raw: &[u8]) -> anyhow::Result<Option<Handled>> {
    let report = match bounce::parse(raw) {
        Ok(r) => r,
        Err(e) => {
            unreadable(importer, source, &e.to_string());
            return Ok(None);
        }
    };
    for w in &report.warnings {
        output::warn(&format!("{source}: {w}"));
    }
    let handled = importer.handle(source, raw, &report)?;
    for fate in &handled.fates {
        match fate {
            Fate::NotOurs(why) if !output::quiet() => eprintln!("{source}: {why}; nothing recorded"),
            f => {
                if let Some(line) = crate::intake::describe(f) {
                    output::debug(&format!("{source}: {line}"));
                }
            }
        }
    }
    Ok(Some(handled))
}

fn unreadable(importer: &mut Importer<'_>, source: &str, why: &str) {
    importer.unreadable();
    eprintln!("{source}: {}: {why}; nothing recorded", output::paint("31;1", "error"));
}

/// Applies the thresholds (also after a failure: what was recorded counts),
/// prints each suppression and the summary, and gives the exit code.
fn finish(importer: &mut Importer<'_>, what: &str, failed: Option<anyhow::Error>) -> anyhow::Result<Exit> {
    let suppressed = importer.finish();
    let suppressed = match (suppressed, failed) {
        (_, Some(e)) | (Err(e), None) => {
            return Err(crate::exit::default_to(
                e,
                Exit::Aborted,
                "cannot record bounces in the state database; what was recorded stays, run again",
            ))
        }
        (Ok(s), None) => s,
    };
    for s in &suppressed {
        println!("suppressed {} as {} ({})", s.email, s.reason, s.why);
    }
    output::log(&format!("{what}: {}; suppressed {}", importer.totals, suppressed.len()));
    Ok(if importer.totals.unreadable > 0 {
        Exit::SomeFailed
    } else {
        Exit::Ok
    })
}

/// Who we mail, for matching: the list (files and sign-ups) and the
/// journalled issues, with the VERP key when `bounce_address` has a token.
fn directory(cfg: &Config, conn: &Connection) -> anyhow::Result<Directory> {
    let list = load_list(cfg)?;
    let verp = crate::keys::verp_key(cfg).map_err(|d| {
        for x in &d {
            output::diagnostic(x);
        }
        Failure::new(Exit::Invalid, format!("{}: invalid configuration", cfg.path.display()))
    })?;
    let verp = cfg.newsletter.verp.clone().zip(verp);
    let keys = list.iter().map(|s| s.key()).collect();
    let issues = journal::issues(conn)?;
    Ok(Directory::new(keys, issues, verp))
}

fn open_state(cfg: &Config) -> anyhow::Result<Connection> {
    state::open(&cfg.paths.state)
        .map_err(|e| crate::exit::default_to(e, Exit::Aborted, "cannot open the state database"))
}

pub fn fetch(config_path: &std::path::Path) -> anyhow::Result<Exit> {
    let cfg = load_config(config_path)?;
    let Some(imap) = &cfg.bounces.imap else {
        return Err(Failure::new(
            Exit::Invalid,
            format!(
                "{}: [bounces] host is not set: bounces fetch needs the IMAP mailbox the bounces go to",
                cfg.path.display()
            ),
        ));
    };
    let connect = connect_settings(imap)?;
    let conn = open_state(&cfg)?;
    let directory = directory(&cfg, &conn)?;
    let mut importer = Importer::new(&conn, directory, cfg.bounces.thresholds);
    let mailbox = format!("{}@{}:{}/{}", imap.username, imap.host, imap.port, imap.mailbox);
    let mut handler = Fetcher {
        importer: &mut importer,
        conn: &conn,
        mailbox: &mailbox,
        label: format!("imap:{}", imap.mailbox),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let fetched = rt.block_on(imap::fetch(&connect, &mut handler));
    let (failed, note) = match fetched {
        Ok(f) => (
            None,
            format!(
                "{} new, {} marked processed, {} left alone",
                f.new_messages, f.processed, f.left_alone
            ),
        ),
        Err(imap::FetchError::Handler(e)) => (Some(e), String::new()),
        Err(e @ imap::FetchError::Mailbox(_)) => (Some(Failure::new(Exit::Invalid, e.to_string())), String::new()),
        Err(e) => (Some(Failure::new(Exit::Aborted, e.to_string())), String::new()),
    };
    finish(&mut importer, &format!("bounces fetch {}: {note}", imap.host), failed)
}

/// The password and extra roots, read at the edge; problems are exit 2.
fn connect_settings(imap: &crate::config::bounces::Imap) -> anyhow::Result<imap::Connect<'_>> {
    let invalid = |e: anyhow::Error| Failure::new(Exit::Invalid, format!("{e:#}"));
    let password = match (&imap.password_env, &imap.password_command) {
        (Some(var), _) => crate::transport::smtp::password_from_env("[bounces]", var).map_err(invalid)?,
        (None, Some(argv)) => crate::transport::smtp::password_from_command("[bounces]", argv).map_err(invalid)?,
        (None, None) => unreachable!("the config requires one of them"),
    };
    let extra_roots_pem = match &imap.ca_file {
        Some(f) => vec![crate::files::read(f, crate::files::MAX_CERT_BYTES)
            .map_err(|e| Failure::new(Exit::Invalid, format!("[bounces] ca_file {}: {e}", f.display())))?],
        None => Vec::new(),
    };
    Ok(imap::Connect {
        imap,
        password,
        extra_roots_pem,
        max_message: u32::try_from(input::MAX_MESSAGE_BYTES).unwrap_or(u32::MAX),
    })
}

/// The fetch's handler: each message goes through the importer; the mark
/// lives in the state database.
struct Fetcher<'a, 'b> {
    importer: &'a mut Importer<'b>,
    conn: &'a Connection,
    mailbox: &'a str,
    label: String,
}

impl Handler for Fetcher<'_, '_> {
    fn mark(&mut self) -> anyhow::Result<Option<(u32, u32)>> {
        records::imap_mark(self.conn, self.mailbox)
    }

    fn message(&mut self, uid: u32, raw: Result<&[u8], String>) -> anyhow::Result<Decision> {
        let source = format!("{} UID {uid}", self.label);
        let raw = match raw {
            Ok(r) => r,
            Err(why) => {
                unreadable(self.importer, &source, &why);
                return Ok(Decision::LeaveAlone);
            }
        };
        Ok(match take(self.importer, &source, raw)? {
            Some(h) if h.is_ours() => Decision::Processed,
            _ => Decision::LeaveAlone,
        })
    }

    fn done(&mut self, uidvalidity: u32, uid: u32) -> anyhow::Result<()> {
        records::set_imap_mark(self.conn, self.mailbox, uidvalidity, uid)
    }
}
