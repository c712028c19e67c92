//! `/u?token=…`: RFC 8058 one-click unsubscribe. A POST whose body (urlencoded
//! or multipart) holds `List-Unsubscribe=One-Click` suppresses the token's
//! address; a GET shows a page with a button that makes that POST and never
//! changes anything. Tokens of both formats (v2 opaque, v1) are accepted.
//! Any other path with a token is treated the same, so proxies set up for the
//! old `serve-unsubscribe` (which accepted any path) keep working.

use super::forms::Form;
use super::pages::mask;
use super::{page, unavailable, App};
use crate::state::suppression;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

fn token_email(app: &App, req: &Request) -> Option<String> {
    let query = Form::urlencoded(req.uri().query().unwrap_or("").as_bytes());
    crate::token::verify(app.key.bytes(), &app.cfg.newsletter.list_id, query.get("token")?)
}

fn bad_token(app: &App) -> Response {
    let t = app.pages.t;
    page(
        StatusCode::BAD_REQUEST,
        app.pages.message(t.link_invalid_title, t.unsubscribe_invalid),
        "bad token",
    )
}

fn page_for(app: &App, req: &Request) -> Response {
    match token_email(app, req) {
        None => bad_token(app),
        Some(email) => page(StatusCode::OK, app.pages.unsubscribe(&mask(&email)), "page shown"),
    }
}

/// GET /u: the page with the button.
pub async fn show(State(app): State<Arc<App>>, req: Request) -> Response {
    page_for(&app, &req)
}

/// POST /u: the one-click unsubscribe.
pub async fn one_click(State(app): State<Arc<App>>, req: Request) -> Response {
    let Some(email) = token_email(&app, &req) else {
        return bad_token(&app);
    };
    let t = app.pages.t;
    let asked = match super::read_form(req).await {
        Ok(f) => f.get("List-Unsubscribe") == Some("One-Click"),
        Err(r) => return r,
    };
    if !asked {
        return page(
            StatusCode::BAD_REQUEST,
            app.pages.message(t.bad_request_title, t.not_one_click),
            "POST without List-Unsubscribe=One-Click",
        );
    }
    let e = email.clone();
    let done = app
        .store
        .write(move |c| suppression::suppress(c, &e, suppression::Reason::Unsubscribed, "one-click"))
        .await;
    match done {
        Err(why) => unavailable(&app, why),
        Ok(new) => page(
            StatusCode::OK,
            app.pages.unsubscribed(&mask(&email)),
            format!("{} {email}", if new { "unsubscribed" } else { "already suppressed" }),
        ),
    }
}

/// Any other path: an unsubscribe link if it carries a token, else 404.
pub async fn fallback(State(app): State<Arc<App>>, req: Request) -> Response {
    let has_token = req
        .uri()
        .query()
        .is_some_and(|q| Form::urlencoded(q.as_bytes()).get("token").is_some());
    match (has_token, req.method().clone()) {
        (true, Method::POST) => one_click(State(app), req).await,
        (true, Method::GET | Method::HEAD) => page_for(&app, &req),
        (true, _) => (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response(),
        (false, _) => {
            let t = app.pages.t;
            page(
                StatusCode::NOT_FOUND,
                app.pages.message(t.not_found_title, t.not_found),
                "not found",
            )
        }
    }
}
