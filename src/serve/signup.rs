//! `/subscribe` and `/confirm`: double opt-in.
//!
//! POST /subscribe records a pending sign-up and queues one confirmation
//! message. Its answer is the same page whatever happened (new, already
//! subscribed, sent recently, suppressed, honeypot), so it never tells
//! whether an address is on the list. GET /confirm only shows a button;
//! POST /confirm confirms.

use super::confirmation::Job;
use super::forms::Form;
use super::{page, unavailable, App, Client};
use crate::state::signups::{self, Requested};
use crate::subscribers::{validate_email, validate_name};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The longest name kept, in characters.
const MAX_NAME: usize = 100;

pub async fn form(State(app): State<Arc<App>>) -> Response {
    match app.mailer {
        Some(_) => page(StatusCode::OK, app.pages.subscribe("", "", None), ""),
        None => closed(&app),
    }
}

fn closed(app: &App) -> Response {
    let t = app.pages.t;
    page(
        StatusCode::NOT_FOUND,
        app.pages.message(t.signups_off_title, t.signups_off),
        "sign-ups are off",
    )
}

fn client(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions().get::<Client>().map(|c| c.0)
}

pub async fn subscribe(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(mailer) = app.mailer.clone() else {
        return closed(&app);
    };
    let ip = client(&req);
    let t = app.pages.t;
    if !ip.is_none_or(|ip| app.limit.allow(ip)) {
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            app.pages.message(t.too_many_title, t.too_many),
            "sign-up rate limit",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("600"));
        return r;
    }
    let form = match super::read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let raw_email = form.get("email").unwrap_or("");
    let raw_name: String = form.get("name").unwrap_or("").chars().take(MAX_NAME).collect();
    let check_inbox = || app.pages.message(t.check_inbox_title, t.check_inbox);
    if form.get("website").is_some_and(|v| !v.is_empty()) {
        return page(StatusCode::OK, check_inbox(), "honeypot filled: ignored");
    }
    let email = match validate_email(raw_email) {
        Ok(e) if e.len() <= 254 => e,
        _ => {
            let html = app.pages.subscribe(raw_email, &raw_name, Some(t.bad_email));
            return page(StatusCode::BAD_REQUEST, html, "invalid address");
        }
    };
    // An unusable name (control characters) is dropped: the field is optional.
    let name = validate_name(&raw_name).ok().flatten();
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    let ip_text = ip.filter(|_| app.cfg.serve.record_ip).map(|ip| ip.to_string());
    let (e, n, h) = (email.clone(), name.clone(), hash.clone());
    let outcome = app
        .store
        .write(move |c| {
            let r = signups::Request {
                address: &e,
                name: n.as_deref(),
                ip: ip_text.as_deref(),
                token_hash: &h,
            };
            signups::request(c, &r, chrono::Utc::now())
        })
        .await;
    let note = match outcome {
        Err(why) => return unavailable(&app, why),
        Ok(Requested::SendConfirmation) => {
            let job = Job {
                address: email.clone(),
                name,
                token,
                token_hash: hash.clone(),
            };
            if !mailer.queue(job) {
                let (e, h) = (email.clone(), hash);
                let _ = app.store.write(move |c| signups::send_failed(c, &e, &h)).await;
                return unavailable(&app, super::store::Unavailable("the confirmation queue is full".into()));
            }
            "confirmation queued"
        }
        Ok(Requested::AlreadyConfirmed) => "already confirmed: nothing sent",
        Ok(Requested::RecentlySent) => "confirmation sent recently: nothing sent",
        Ok(Requested::Suppressed) => "suppressed (complaint or manual): nothing sent",
    };
    page(StatusCode::OK, check_inbox(), format!("sign-up {email}: {note}"))
}

fn token_hash(req: &Request) -> Option<Vec<u8>> {
    let token = Form::urlencoded(req.uri().query().unwrap_or("").as_bytes())
        .get("token")?
        .trim()
        .to_string();
    (!token.is_empty() && token.len() <= 128).then(|| Sha256::digest(token.as_bytes()).to_vec())
}

fn invalid_link(app: &App) -> Response {
    let t = app.pages.t;
    page(
        StatusCode::BAD_REQUEST,
        app.pages.message(t.link_invalid_title, t.link_invalid),
        "invalid or expired confirmation token",
    )
}

/// GET /confirm: a page with a button. Reads only.
pub async fn confirm_page(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(hash) = token_hash(&req) else {
        return invalid_link(&app);
    };
    match app
        .store
        .read(move |c| signups::peek(c, &hash, chrono::Utc::now()))
        .await
    {
        Err(why) => unavailable(&app, why),
        Ok(None) => invalid_link(&app),
        Ok(Some(_)) => page(StatusCode::OK, app.pages.confirm(), "confirmation page shown"),
    }
}

/// POST /confirm: confirms the sign-up of a live token.
pub async fn confirm(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(hash) = token_hash(&req) else {
        return invalid_link(&app);
    };
    let ip = client(&req)
        .filter(|_| app.cfg.serve.record_ip)
        .map(|ip| ip.to_string());
    let done = app
        .store
        .write(move |c| signups::confirm(c, &hash, ip.as_deref(), chrono::Utc::now()))
        .await;
    let t = app.pages.t;
    match done {
        Err(why) => unavailable(&app, why),
        Ok(None) => invalid_link(&app),
        Ok(Some(email)) => page(
            StatusCode::OK,
            app.pages.message(t.confirmed_title, t.confirmed),
            format!("confirmed {email}"),
        ),
    }
}
