//! Tests of the sign-up table: the double opt-in life cycle with a fixed clock.

use super::*;
use crate::state::suppression::{self, Reason};

fn t0() -> DateTime<Utc> {
    "2026-11-30T09:00:00Z".parse().unwrap()
}

fn req<'a>(address: &'a str, hash: &'a [u8]) -> Request<'a> {
    Request {
        address,
        name: Some("Ann"),
        ip: Some("192.0.2.1"),
        token_hash: hash,
    }
}

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::state::open(dir.path()).unwrap();
    (dir, conn)
}

#[test]
fn request_then_confirm_records_consent() {
    let (_d, mut conn) = db();
    assert_eq!(
        request(&mut conn, &req("Ann@Example.com", b"h1"), t0()).unwrap(),
        Requested::SendConfirmation
    );
    let row = &all(&conn).unwrap()[0];
    assert_eq!(
        (row.email.as_str(), row.address.as_str(), row.confirmed),
        ("ann@example.com", "Ann@Example.com", false)
    );
    assert_eq!(peek(&conn, b"h1", t0()).unwrap().as_deref(), Some("ann@example.com"));
    assert_eq!(peek(&conn, b"nope", t0()).unwrap(), None);

    let later = t0() + Duration::minutes(5);
    assert_eq!(
        confirm(&mut conn, b"h1", Some("198.51.100.7"), later)
            .unwrap()
            .as_deref(),
        Some("ann@example.com")
    );
    let row = &all(&conn).unwrap()[0];
    assert!(row.confirmed);
    assert_eq!(row.source, "form");
    assert_eq!(row.requested_at, "2026-11-30T09:00:00Z");
    assert_eq!(row.request_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(row.confirmed_at.as_deref(), Some("2026-11-30T09:05:00Z"));
    assert_eq!(row.confirm_ip.as_deref(), Some("198.51.100.7"));

    // Clicking again is harmless and keeps the first confirmation time.
    let again = confirm(&mut conn, b"h1", None, later + Duration::minutes(1)).unwrap();
    assert_eq!(again.as_deref(), Some("ann@example.com"));
    assert_eq!(
        all(&conn).unwrap()[0].confirmed_at.as_deref(),
        Some("2026-11-30T09:05:00Z")
    );
    // A confirmed address asking again gets nothing sent.
    assert_eq!(
        request(&mut conn, &req("ann@example.com", b"h2"), later).unwrap(),
        Requested::AlreadyConfirmed
    );
}

#[test]
fn tokens_expire_and_repeats_within_the_window_send_nothing() {
    let (_d, mut conn) = db();
    assert_eq!(
        request(&mut conn, &req("bob@example.com", b"a"), t0()).unwrap(),
        Requested::SendConfirmation
    );
    let soon = t0() + Duration::minutes(59);
    assert_eq!(
        request(&mut conn, &req("bob@example.com", b"b"), soon).unwrap(),
        Requested::RecentlySent
    );
    assert_eq!(
        peek(&conn, b"b", soon).unwrap(),
        None,
        "no token stored for a request that sent nothing"
    );
    let after = t0() + Duration::minutes(61);
    assert_eq!(
        request(&mut conn, &req("bob@example.com", b"c"), after).unwrap(),
        Requested::SendConfirmation
    );
    // Both links work until their own expiry.
    assert!(peek(&conn, b"a", after).unwrap().is_some());
    let expired = t0() + TOKEN_LIFETIME;
    assert_eq!(confirm(&mut conn, b"a", None, expired).unwrap(), None, "expired");
    assert!(!all(&conn).unwrap()[0].confirmed);
    assert!(confirm(&mut conn, b"c", None, expired).unwrap().is_some());
}

#[test]
fn a_failed_send_can_be_retried_at_once() {
    let (_d, mut conn) = db();
    request(&mut conn, &req("cy@example.com", b"a"), t0()).unwrap();
    send_failed(&conn, "cy@example.com", b"a").unwrap();
    assert_eq!(peek(&conn, b"a", t0()).unwrap(), None);
    assert_eq!(
        request(&mut conn, &req("cy@example.com", b"b"), t0()).unwrap(),
        Requested::SendConfirmation
    );
}

#[test]
fn suppression_rules() {
    let (_d, mut conn) = db();
    suppression::suppress(&conn, "angry@example.com", Reason::Complained, "fbl").unwrap();
    suppression::suppress(&conn, "manual@example.com", Reason::Manual, "cli").unwrap();
    suppression::suppress(&conn, "left@example.com", Reason::Unsubscribed, "one-click").unwrap();
    for a in ["angry@example.com", "manual@example.com"] {
        assert_eq!(
            request(&mut conn, &req(a, a.as_bytes()), t0()).unwrap(),
            Requested::Suppressed,
            "{a}"
        );
    }
    assert_eq!(
        request(&mut conn, &req("left@example.com", b"l"), t0()).unwrap(),
        Requested::SendConfirmation
    );
    confirm(&mut conn, b"l", None, t0()).unwrap();
    assert!(
        !suppression::is_suppressed(&conn, "left@example.com").unwrap(),
        "re-confirming lifts an unsubscribe"
    );

    // Confirmed, then unsubscribed: a new sign-up sends a new confirmation.
    suppression::suppress(&conn, "left@example.com", Reason::Unsubscribed, "one-click").unwrap();
    let later = t0() + Duration::hours(2);
    assert_eq!(
        request(&mut conn, &req("left@example.com", b"m"), later).unwrap(),
        Requested::SendConfirmation
    );
    assert!(
        !all(&conn)
            .unwrap()
            .iter()
            .find(|s| s.email == "left@example.com")
            .unwrap()
            .confirmed
    );
}

#[test]
fn add_remove_and_purge() {
    let (_d, mut conn) = db();
    assert_eq!(
        add(&mut conn, "Dee@example.com", Some("Dee"), t0()).unwrap(),
        Added::Added
    );
    assert_eq!(
        add(&mut conn, "dee@example.com", None, t0()).unwrap(),
        Added::AlreadyConfirmed
    );
    let row = &all(&conn).unwrap()[0];
    assert_eq!(
        (row.source.as_str(), row.name.as_deref(), row.confirmed),
        ("cli", Some("Dee"), true)
    );
    request(&mut conn, &req("eve@example.com", b"e"), t0()).unwrap();
    assert_eq!(add(&mut conn, "eve@example.com", None, t0()).unwrap(), Added::Confirmed);
    assert_eq!(
        all(&conn).unwrap()[1].name.as_deref(),
        Some("Ann"),
        "the name given earlier is kept"
    );
    assert!(remove(&conn, "EVE@example.com").unwrap());
    assert!(!remove(&conn, "eve@example.com").unwrap());
    assert_eq!(peek(&conn, b"e", t0()).unwrap(), None, "tokens go with the sign-up");

    request(&mut conn, &req("old@example.com", b"o"), t0()).unwrap();
    assert_eq!(purge(&conn, t0() + Duration::days(29)).unwrap(), 0);
    assert_eq!(purge(&conn, t0() + PENDING_LIFETIME).unwrap(), 1);
    let left: Vec<String> = all(&conn).unwrap().into_iter().map(|s| s.email).collect();
    assert_eq!(left, ["dee@example.com"], "confirmed sign-ups are never purged");
}
