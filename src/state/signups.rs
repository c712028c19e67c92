//! Sign-ups kept in the state database: pending (double opt-in not yet
//! completed) and confirmed, with proof of consent (when, from where, and the
//! client address when `[serve] record_ip` is on), and the confirmation
//! tokens (only their SHA-256 is stored, with an expiry).
//!
//! Every function takes the clock; every change runs in one immediate
//! transaction, so concurrent requests and `send` runs see whole changes.

use super::suppression;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Schema migration 3.
pub const MIGRATION: &str = "
CREATE TABLE signup (
    email        TEXT PRIMARY KEY NOT NULL,  -- lower-cased
    address      TEXT NOT NULL,              -- as typed, trimmed
    name         TEXT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    source       TEXT NOT NULL,              -- 'form' or 'cli'
    requested_at TEXT NOT NULL,
    request_ip   TEXT,
    confirmed_at TEXT,
    confirm_ip   TEXT,
    last_sent_at TEXT                         -- the last confirmation message
) WITHOUT ROWID;
CREATE TABLE confirm_token (
    hash       BLOB PRIMARY KEY NOT NULL,     -- SHA-256 of the token
    email      TEXT NOT NULL REFERENCES signup (email) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX confirm_token_email ON confirm_token (email);
";

/// How long a confirmation link works.
pub const TOKEN_LIFETIME: Duration = Duration::hours(48);
/// A second sign-up for the same address within this window sends nothing.
pub const RESEND_WINDOW: Duration = Duration::hours(1);
/// Pending sign-ups never confirmed are forgotten after this long.
pub const PENDING_LIFETIME: Duration = Duration::days(30);

/// One row of the `signup` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signup {
    pub email: String,
    pub address: String,
    pub name: Option<String>,
    pub confirmed: bool,
    pub source: String,
    pub requested_at: String,
    pub request_ip: Option<String>,
    pub confirmed_at: Option<String>,
    pub confirm_ip: Option<String>,
}

/// What a sign-up request led to. The page shown is the same for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// Recorded as pending: send one confirmation message with the token.
    SendConfirmation,
    /// Already confirmed: nothing to do.
    AlreadyConfirmed,
    /// A confirmation went out within [`RESEND_WINDOW`].
    RecentlySent,
    /// Suppressed after a complaint or by hand: never mailed from a web form.
    Suppressed,
}

/// A sign-up request from the form.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub address: &'a str,
    pub name: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub token_hash: &'a [u8],
}

pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Records a form sign-up as pending and stores its confirmation token,
/// unless the address is confirmed, recently sent to, or suppressed by a complaint or by hand.
pub fn request(conn: &mut Connection, r: &Request<'_>, now: DateTime<Utc>) -> anyhow::Result<Requested> {
    let email = crate::address::key(r.address);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT status, last_sent_at FROM signup WHERE email = ?1",
            params![email],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let blocked = suppression::get(&tx, &email)?
        .is_some_and(|s| matches!(s.reason, suppression::Reason::Complained | suppression::Reason::Manual));
    let outcome = match &existing {
        _ if blocked => Requested::Suppressed,
        Some((status, _)) if status == "confirmed" && !suppression::is_suppressed(&tx, &email)? => {
            Requested::AlreadyConfirmed
        }
        Some((_, Some(sent))) if *sent > stamp(now - RESEND_WINDOW) => Requested::RecentlySent,
        _ => Requested::SendConfirmation,
    };
    if outcome == Requested::SendConfirmation {
        // A confirmed address that unsubscribed since keeps its row (and its
        // consent history) but goes back to pending until it confirms again.
        tx.execute(
            "INSERT INTO signup (email, address, name, status, source, requested_at, request_ip, last_sent_at)
             VALUES (?1, ?2, ?3, 'pending', 'form', ?4, ?5, ?4)
             ON CONFLICT (email) DO UPDATE SET address = ?2, name = ?3, status = 'pending', source = 'form',
                 requested_at = ?4, request_ip = ?5, last_sent_at = ?4",
            params![email, r.address.trim(), r.name, stamp(now), r.ip],
        )?;
        tx.execute(
            "INSERT INTO confirm_token (hash, email, expires_at) VALUES (?1, ?2, ?3)",
            params![r.token_hash, email, stamp(now + TOKEN_LIFETIME)],
        )?;
    }
    tx.commit()?;
    Ok(outcome)
}

/// The confirmation message could not be sent: forget its token and the
/// send time, so a new request can try again at once.
pub fn send_failed(conn: &Connection, email: &str, token_hash: &[u8]) -> anyhow::Result<()> {
    conn.execute("DELETE FROM confirm_token WHERE hash = ?1", params![token_hash])?;
    conn.execute(
        "UPDATE signup SET last_sent_at = NULL WHERE email = ?1",
        params![crate::address::key(email)],
    )?;
    Ok(())
}

/// The address a live (unexpired) confirmation token belongs to. Reads only.
pub fn peek(conn: &Connection, token_hash: &[u8], now: DateTime<Utc>) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT email FROM confirm_token WHERE hash = ?1 AND expires_at > ?2",
            params![token_hash, stamp(now)],
            |r| r.get(0),
        )
        .optional()?)
}

/// Confirms the sign-up a live token belongs to and returns its address;
/// None for an unknown or expired token. Idempotent while the token lives.
/// Confirming is fresh consent: it lifts a suppression for `unsubscribed`
/// or `bounced` (never one for a complaint or one set by hand).
pub fn confirm(
    conn: &mut Connection,
    token_hash: &[u8],
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(email) = peek(&tx, token_hash, now)? else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE signup SET status = 'confirmed', confirmed_at = ?2, confirm_ip = ?3
         WHERE email = ?1 AND status = 'pending'",
        params![email, stamp(now), ip],
    )?;
    tx.execute(
        "DELETE FROM suppression WHERE email = ?1 AND reason IN ('unsubscribed', 'bounced')",
        params![email],
    )?;
    tx.commit()?;
    Ok(Some(email))
}

/// What `subscribers add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    Added,
    /// It was pending: now confirmed by the author.
    Confirmed,
    AlreadyConfirmed,
}

/// Adds an address as confirmed by the list's author (`subscribers add`).
pub fn add(conn: &mut Connection, address: &str, name: Option<&str>, now: DateTime<Utc>) -> anyhow::Result<Added> {
    let email = crate::address::key(address);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let status: Option<String> = tx
        .query_row("SELECT status FROM signup WHERE email = ?1", params![email], |r| {
            r.get(0)
        })
        .optional()?;
    let outcome = match status.as_deref() {
        Some("confirmed") => Added::AlreadyConfirmed,
        Some(_) => Added::Confirmed,
        None => Added::Added,
    };
    if outcome != Added::AlreadyConfirmed {
        tx.execute(
            "INSERT INTO signup (email, address, name, status, source, requested_at, confirmed_at)
             VALUES (?1, ?2, ?3, 'confirmed', 'cli', ?4, ?4)
             ON CONFLICT (email) DO UPDATE SET address = ?2, name = coalesce(?3, name),
                 status = 'confirmed', source = 'cli', confirmed_at = ?4",
            params![email, address.trim(), name, stamp(now)],
        )?;
    } else if let Some(name) = name {
        tx.execute("UPDATE signup SET name = ?2 WHERE email = ?1", params![email, name])?;
    }
    tx.commit()?;
    Ok(outcome)
}

/// Deletes the sign-up (pending or confirmed) and its tokens; false when there was none.
pub fn remove(conn: &Connection, address: &str) -> anyhow::Result<bool> {
    let n = conn.execute(
        "DELETE FROM signup WHERE email = ?1",
        params![crate::address::key(address)],
    )?;
    Ok(n == 1)
}

/// Every sign-up, confirmed and pending, by address.
pub fn all(conn: &Connection) -> anyhow::Result<Vec<Signup>> {
    let mut stmt = conn.prepare(
        "SELECT email, address, name, status, source, requested_at, request_ip, confirmed_at, confirm_ip
         FROM signup ORDER BY email",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Signup {
            email: r.get(0)?,
            address: r.get(1)?,
            name: r.get(2)?,
            confirmed: r.get::<_, String>(3)? == "confirmed",
            source: r.get(4)?,
            requested_at: r.get(5)?,
            request_ip: r.get(6)?,
            confirmed_at: r.get(7)?,
            confirm_ip: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The address ids of the confirmed sign-ups, sorted; [`is_confirmed`]
/// decides a hit.
pub fn confirmed_ids(conn: &Connection) -> anyhow::Result<Vec<u64>> {
    super::sorted_address_ids(conn, "SELECT email FROM signup WHERE status = 'confirmed'")
}

/// Whether `address` is a confirmed sign-up.
pub fn is_confirmed(conn: &Connection, address: &str) -> anyhow::Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM signup WHERE email = ?1 AND status = 'confirmed'",
        params![crate::address::key(address)],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Calls `f` with every confirmed sign-up (the address as typed, the name),
/// oldest confirmation first, so that sign-ups confirmed while a send runs
/// come last; `f` returns false to stop. One row at a time.
pub fn each_confirmed(conn: &Connection, f: &mut dyn FnMut(String, Option<String>) -> bool) -> anyhow::Result<()> {
    let mut stmt = conn.prepare(
        "SELECT address, name FROM signup WHERE status = 'confirmed'
         ORDER BY coalesce(confirmed_at, requested_at), email",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if !f(row.get(0)?, row.get(1)?) {
            break;
        }
    }
    Ok(())
}

pub fn confirmed(conn: &Connection) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut stmt = conn.prepare("SELECT address, name FROM signup WHERE status = 'confirmed' ORDER BY email")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Forgets expired tokens and pending sign-ups older than [`PENDING_LIFETIME`]
/// (data minimisation: nobody consented to be kept). Returns the sign-ups removed.
pub fn purge(conn: &Connection, now: DateTime<Utc>) -> anyhow::Result<usize> {
    conn.execute("DELETE FROM confirm_token WHERE expires_at <= ?1", params![stamp(now)])?;
    Ok(conn.execute(
        "DELETE FROM signup WHERE status = 'pending' AND requested_at <= ?1",
        params![stamp(now - PENDING_LIFETIME)],
    )?)
}

#[cfg(test)]
#[path = "signups_tests.rs"]
mod tests;
