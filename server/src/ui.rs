//! The approver inbox at `/ui/`: three static files compiled into the binary (no build step,
//! nothing to install), served with a strict Content-Security-Policy.
//!
//! The page signs in with a bearer token kept in the tab's `sessionStorage` and calls the
//! approvals API with it; there are no cookies, so no cross-site request can act as the
//! approver, and nothing here needs CSRF protection. Every response forbids framing,
//! sniffing, referrers and caching; scripts, styles and requests may only come from this
//! origin, and nothing inline runs. The page writes the agent-controlled request text with
//! `textContent` only. This module knows only these files and their headers.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::routes::error_response;

const INDEX: &str = include_str!("../ui/index.html");
const APP: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/style.css");

/// The Content-Security-Policy of every `/ui/` response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `GET /ui/`: the page. Security: anyone (it holds no data; the API it calls checks the
/// token).
pub async fn page() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

/// `GET /ui`: to `/ui/`, so that the page's relative world is the folder.
pub async fn redirect() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/ui/"));
    response
}

/// `GET /ui/app.js`, `/ui/style.css`. Security: anyone; static files.
pub async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => file("text/javascript; charset=utf-8", APP),
        "style.css" => file("text/css; charset=utf-8", STYLE),
        "index.html" => file("text/html; charset=utf-8", INDEX),
        _ => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("there is no file `/ui/{name}`"),
        ),
    }
}
