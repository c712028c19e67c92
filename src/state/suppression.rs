//! The suppression list: lower-cased addresses that must not be mailed, with
//! why (reason), who asked (source) and when.

use anyhow::bail;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Unsubscribed,
    Bounced,
    Complained,
    Manual,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "unsubscribed",
            Reason::Bounced => "bounced",
            Reason::Complained => "complained",
            Reason::Manual => "manual",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reason {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "unsubscribed" => Reason::Unsubscribed,
            "bounced" => Reason::Bounced,
            "complained" => Reason::Complained,
            "manual" => Reason::Manual,
            other => bail!("unknown suppression reason {other:?}"),
        })
    }
}

/// One row of the suppression list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// Lower-cased.
    pub email: String,
    pub reason: Reason,
    /// Free text: `cli`, `one-click`, `token`, `smtp 550 5.1.1 …`.
    pub source: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

use crate::address::key;

/// Suppresses `email`. Returns false when it already was; the first record
/// (its reason, source and time) is kept.
pub fn suppress(conn: &Connection, email: &str, reason: Reason, source: &str) -> anyhow::Result<bool> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let n = conn.execute(
        "INSERT INTO suppression (email, reason, source, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (email) DO NOTHING",
        params![key(email), reason.as_str(), source, now],
    )?;
    Ok(n == 1)
}

/// Removes `email` from the list. Returns false when it was not on it.
pub fn unsuppress(conn: &Connection, email: &str) -> anyhow::Result<bool> {
    let n = conn.execute("DELETE FROM suppression WHERE email = ?1", params![key(email)])?;
    Ok(n == 1)
}

pub fn is_suppressed(conn: &Connection, email: &str) -> anyhow::Result<bool> {
    Ok(get(conn, email)?.is_some())
}

/// The record for `email`, if suppressed.
pub fn get(conn: &Connection, email: &str) -> anyhow::Result<Option<Suppression>> {
    let row = conn
        .query_row(
            "SELECT email, reason, source, created_at FROM suppression WHERE email = ?1",
            params![key(email)],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    row.map(|(email, reason, source, created_at)| {
        Ok(Suppression {
            email,
            reason: reason.parse()?,
            source,
            created_at,
        })
    })
    .transpose()
}

/// Every record, oldest first (then by address).
pub fn all(conn: &Connection) -> anyhow::Result<Vec<Suppression>> {
    let mut stmt =
        conn.prepare("SELECT email, reason, source, created_at FROM suppression ORDER BY created_at, email")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
    })?;
    rows.map(|row| {
        let (email, reason, source, created_at) = row?;
        Ok(Suppression {
            email,
            reason: reason.parse()?,
            source,
            created_at,
        })
    })
    .collect()
}

/// Every suppressed address, lower-cased, for filtering a recipient list.
pub fn suppressed_set(conn: &Connection) -> anyhow::Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT email FROM suppression")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut set = HashSet::new();
    for email in rows {
        set.insert(email?);
    }
    Ok(set)
}

/// The address ids of every suppressed address, sorted; [`is_suppressed`]
/// decides a hit.
pub fn suppressed_ids(conn: &Connection) -> anyhow::Result<Vec<u64>> {
    super::sorted_address_ids(conn, "SELECT email FROM suppression")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppress_is_case_insensitive_and_keeps_first_record() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::state::open(dir.path()).unwrap();
        assert!(suppress(&conn, "Ann@Example.COM", Reason::Unsubscribed, "cli").unwrap());
        assert!(!suppress(&conn, "ann@example.com", Reason::Bounced, "smtp 550").unwrap());
        let s = get(&conn, "ANN@example.com").unwrap().unwrap();
        assert_eq!(
            (s.email.as_str(), s.reason, s.source.as_str()),
            ("ann@example.com", Reason::Unsubscribed, "cli")
        );
        assert!(s.created_at.ends_with('Z'), "{}", s.created_at);
        assert!(is_suppressed(&conn, "ann@EXAMPLE.com").unwrap());
        assert_eq!(
            suppressed_set(&conn).unwrap(),
            HashSet::from(["ann@example.com".to_string()])
        );
        assert_eq!(
            suppressed_ids(&conn).unwrap(),
            vec![crate::address::id("Ann@example.com")]
        );
        assert!(unsuppress(&conn, "Ann@example.com").unwrap());
        assert!(!unsuppress(&conn, "ann@example.com").unwrap());
        assert!(!is_suppressed(&conn, "ann@example.com").unwrap());
    }
}
