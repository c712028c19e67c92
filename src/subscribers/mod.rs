//! The subscriber list: loading every `subscribers/*.csv|toml` file in name
//! order, validation (diagnostics with file and line), case-insensitive
//! de-duplication where the first entry wins, and filtering by status and
//! suppression.

mod csv;
pub mod import;
mod toml;
mod validate;

use crate::address::key as address_key;
pub use validate::{excerpt, validate_email, validate_name};

use crate::diag::Diagnostic;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A subscriber's status as written in the list. Only `Active` is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `subscribed`, `active`, `confirmed`, `enabled`, or no status at all.
    Active,
    /// `pending`, `unconfirmed`: double opt-in not completed.
    Pending,
    /// `unsubscribed`, `disabled`.
    Unsubscribed,
    /// `cleaned`, `bounced`.
    Bounced,
    /// `blocklisted`, `complained`.
    Blocklisted,
}

/// The values `Status::parse` accepts, for error messages.
pub const STATUS_WORDS: &str =
    "subscribed, active, confirmed, enabled, pending, unconfirmed, unsubscribed, disabled, cleaned, bounced, blocklisted, complained";

impl Status {
    /// Parses a status word (case-insensitive); an empty value means active.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        let is = |w: &str| s.eq_ignore_ascii_case(w);
        Some(
            if s.is_empty() || is("subscribed") || is("active") || is("confirmed") || is("enabled") {
                Status::Active
            } else if is("pending") || is("unconfirmed") {
                Status::Pending
            } else if is("unsubscribed") || is("disabled") {
                Status::Unsubscribed
            } else if is("cleaned") || is("bounced") {
                Status::Bounced
            } else if is("blocklisted") || is("complained") {
                Status::Blocklisted
            } else {
                return None;
            },
        )
    }

    /// The word written back by `subscribers import`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "subscribed",
            Status::Pending => "pending",
            Status::Unsubscribed => "unsubscribed",
            Status::Bounced => "bounced",
            Status::Blocklisted => "blocklisted",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated entry of the list. Cheap to keep a million of: the file
/// name is shared, attribute names are shared per file, empty attribute
/// values are not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// As written (trimmed), validated: ASCII, no line breaks.
    pub email: String,
    /// Validated: one line, no control characters.
    pub name: Option<String>,
    pub status: Status,
    /// Every other column (CSV) or the `attributes` table (TOML), non-empty values only.
    pub attributes: Vec<(Arc<str>, String)>,
    pub file: Arc<Path>,
    pub line: u64,
}

impl Subscriber {
    /// A confirmed sign-up from the state database `db`: active, no other
    /// columns, no line of its own.
    pub fn signup(email: String, name: Option<String>, db: &Arc<Path>) -> Subscriber {
        Subscriber {
            email,
            name,
            status: Status::Active,
            attributes: Vec::new(),
            file: Arc::clone(db),
            line: 0,
        }
    }

    /// The lower-cased address: the key for de-duplication and suppression.
    pub fn key(&self) -> String {
        address_key(&self.email)
    }

    /// Whether this entry is a confirmed sign-up from the state database
    /// (see [`Subscribers::add_confirmed`]) rather than a line of a file.
    pub fn is_signup(&self) -> bool {
        self.line == 0
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this subscriber is mailed: active and not suppressed.
    pub fn is_recipient(&self, suppressed: &HashSet<String>) -> bool {
        self.status == Status::Active && !suppressed.contains(&self.key())
    }
}

impl fmt::Display for Subscriber {
    /// `Name <email>` or `email`, as `subscribers list` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} <{}>", self.email),
            None => f.write_str(&self.email),
        }
    }
}

/// Everything read from the subscribers folder: the valid, de-duplicated
/// entries (every status) in file order, and the problems found.
#[derive(Debug, Default)]
pub struct Subscribers {
    pub all: Vec<Subscriber>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Subscribers {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The entries that are mailed: active and not in `suppressed`
    /// (lower-cased addresses, from `state::suppression::suppressed_set`).
    pub fn recipients<'a>(&'a self, suppressed: &'a HashSet<String>) -> impl Iterator<Item = &'a Subscriber> + 'a {
        self.all.iter().filter(move |s| s.is_recipient(suppressed))
    }

    /// Adds confirmed sign-ups `(address, name)` kept in the database `db`.
    /// An address not in the files is appended (its file is `db`, line 0).
    /// One that a file marks unsubscribed, pending or bounced becomes active:
    /// the confirmed sign-up is later, explicit consent. A blocklisted one
    /// (a complaint) stays as it is, and a file's name and attributes win.
    pub fn add_confirmed(&mut self, db: &Path, confirmed: Vec<(String, Option<String>)>) {
        if confirmed.is_empty() {
            return;
        }
        let mut by_key: HashMap<String, (String, Option<String>)> =
            confirmed.into_iter().map(|(a, n)| (address_key(&a), (a, n))).collect();
        for s in &mut self.all {
            if by_key.remove(&s.key()).is_some() && s.status != Status::Blocklisted {
                s.status = Status::Active;
            }
        }
        let file: Arc<Path> = Arc::from(db);
        let mut rest: Vec<_> = by_key.into_values().collect();
        rest.sort();
        self.all.extend(
            rest.into_iter()
                .map(|(email, name)| Subscriber::signup(email, name, &file)),
        );
    }

    pub fn find(&self, email: &str) -> Option<&Subscriber> {
        let key = address_key(email);
        self.all.iter().find(|s| s.email.eq_ignore_ascii_case(&key))
    }
}

/// The `*.csv` and `*.toml` files in `dir`, sorted by file name, and a
/// warning for each one that is not a regular file (a FIFO, a link to a
/// device), which is skipped. Hidden files are skipped (editors leave them behind).
pub fn list_files(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<Diagnostic>)> {
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let wanted = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("toml"));
        if wanted && !name.starts_with('.') {
            match crate::files::irregular_kind_at(&path) {
                None => files.push(path),
                Some(kind) => skipped.push(Diagnostic::warning(
                    &path,
                    0,
                    0,
                    format!("{kind}, not a regular file: skipped"),
                )),
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok((files, skipped))
}

/// Receives the subscriber list entry by entry as it is read: the valid
/// entries (not de-duplicated) and the problems of the others. Reading a
/// list this way holds one entry at a time (`send` streams a million-entry
/// list like this); [`load`] collects them.
pub(crate) trait Visitor {
    fn entry(&mut self, s: Subscriber);
    fn problem(&mut self, d: Diagnostic);
    /// True to stop reading; checked between entries.
    fn stopped(&self) -> bool {
        false
    }
}

/// Reads every subscriber file in `dir`, in name order, into `v`. A missing
/// or unreadable folder or file is a problem, not an `Err`, so `check` can
/// list it with the rest.
pub(crate) fn visit(dir: &Path, v: &mut dyn Visitor) {
    let files = match list_files(dir) {
        Ok((f, skipped)) => {
            for d in skipped {
                v.problem(d);
            }
            f
        }
        Err(e) => {
            v.problem(Diagnostic::error(
                dir,
                0,
                0,
                format!("cannot read the subscribers folder: {e}"),
            ));
            return;
        }
    };
    if files.is_empty() {
        v.problem(Diagnostic::warning(dir, 0, 0, "no subscriber files (*.csv, *.toml)"));
    }
    let mut sink = Sink { v };
    for path in &files {
        if sink.v.stopped() {
            return;
        }
        let file: Arc<Path> = Arc::from(path.as_path());
        let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let result = if is_toml {
            toml::load(&file, &mut sink)
        } else {
            csv::load(&file, &mut sink)
        };
        if let Err(e) = result {
            sink.v.problem(Diagnostic::error(path, 0, 0, format!("{e:#}")));
        }
    }
}

/// Loads every subscriber file in `dir`: valid entries de-duplicated (the
/// first wins), with the problems found.
pub fn load(dir: &Path) -> Subscribers {
    let mut out = Subscribers::default();
    let mut collect = Collect {
        out: &mut out,
        seen: HashMap::new(),
        collided: HashMap::new(),
    };
    visit(dir, &mut collect);
    out.all.shrink_to_fit();
    out
}

/// One entry as read from a file, before validation.
pub(crate) struct RawEntry<'a> {
    pub line: u64,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub status: Option<&'a str>,
    pub attributes: Vec<(Arc<str>, String)>,
}

/// Validates entries for a [`Visitor`].
pub(crate) struct Sink<'v> {
    v: &'v mut dyn Visitor,
}

impl Sink<'_> {
    pub fn diagnostic(&mut self, d: Diagnostic) {
        self.v.problem(d);
    }

    pub fn stopped(&self) -> bool {
        self.v.stopped()
    }

    /// Validates one entry; an invalid one is reported and dropped.
    pub fn push(&mut self, file: &Arc<Path>, e: RawEntry<'_>) {
        let line = e.line as usize;
        let mut errors = Vec::new();
        let mut error = |msg: String| errors.push(Diagnostic::error(file, line, 1, msg));
        let email = validate_email(e.email).map_err(&mut error);
        let name = validate_name(e.name.unwrap_or("")).map_err(&mut error);
        let status = match e.status {
            None => Ok(Status::Active),
            Some(raw) => Status::parse(raw).ok_or_else(|| {
                error(format!(
                    "unknown status {} (expected one of: {STATUS_WORDS})",
                    excerpt(raw)
                ))
            }),
        };
        let too_long = e
            .attributes
            .iter()
            .find(|(_, v)| v.len() > validate::MAX_ATTRIBUTE_BYTES)
            .map(|(key, v)| {
                format!(
                    "column {key:?} holds {} bytes, more than the {} a field may have (an unterminated quote?)",
                    v.len(),
                    validate::MAX_ATTRIBUTE_BYTES
                )
            });
        let attributes = match too_long {
            Some(msg) => {
                error(msg);
                None
            }
            None => Some(e.attributes),
        };
        let (Ok(email), Ok(name), Ok(status), Some(attributes)) = (email, name, status, attributes) else {
            for d in errors {
                self.v.problem(d);
            }
            return;
        };
        if let Some(w) = crate::address::warning(&email) {
            self.v.problem(Diagnostic::warning(file, line, 1, w));
        }
        self.v.entry(Subscriber {
            email,
            name,
            status,
            attributes,
            file: Arc::clone(file),
            line: e.line,
        });
    }
}

/// Collects entries, de-duplicated: the first entry of an address wins,
/// later ones are reported.
struct Collect<'o> {
    out: &'o mut Subscribers,
    /// Hash of the lower-cased address → index of the entry that claimed it.
    /// A hash instead of the address keeps a million-row list from holding
    /// every address twice; `collided` takes the (rare) second address of a hash.
    seen: HashMap<u64, u32>,
    collided: HashMap<Box<str>, u32>,
}

impl Visitor for Collect<'_> {
    fn problem(&mut self, d: Diagnostic) {
        self.out.diagnostics.push(d);
    }

    fn entry(&mut self, s: Subscriber) {
        let key = s.key();
        let hash = {
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&key, &mut h);
            std::hash::Hasher::finish(&h)
        };
        let earlier = match self.seen.get(&hash) {
            Some(&i) if address_key(&self.out.all[i as usize].email) == key => Some(i),
            Some(_) => self.collided.get(key.as_str()).copied(),
            None => None,
        };
        if let Some(first) = earlier {
            let first = &self.out.all[first as usize];
            let d = duplicate(&s, &first.file, first.line);
            self.out.diagnostics.push(d);
            return;
        }
        let index = self.out.all.len() as u32;
        if let std::collections::hash_map::Entry::Vacant(v) = self.seen.entry(hash) {
            v.insert(index);
        } else {
            self.collided.insert(key.into_boxed_str(), index);
        }
        self.out.all.push(s);
    }
}

/// The warning for a later entry of an address already listed at `file:line`.
pub(crate) fn duplicate(s: &Subscriber, file: &Path, line: u64) -> Diagnostic {
    let msg = format!(
        "duplicate address {:?} (first at {}:{line}); this entry is ignored",
        s.email,
        file.display()
    );
    Diagnostic::warning(&s.file, s.line as usize, 1, msg)
}
