//! « Mon compte » (DESIGN §1.6, §4b): the citizen's own space under
//! `/account`. Every page needs a signed-in session (else the login page),
//! is `no-store`, and every form carries the CSRF token. Sensitive actions
//! ask for the password again when the sign-in is older than five minutes
//! ([`fresh`] and the `/account/reauth` page). The visit (session,
//! citizen, language, forms) and the pages that come early are in
//! `visit.rs`; the shared pieces here are the page frame with its
//! navigation and the answers every page gives the same way.

mod applications;
mod data;
mod email;
mod overview;
mod profile;
mod reauth;
mod security;
mod sessions;
mod totp;
mod visit;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

use super::forms::Notice;
use super::pages::Render;
use super::{csrf, flow, paths};
use crate::accounts::profile::Problem;
use crate::accounts::reauth::{self as reentry};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::params::Params;
pub use visit::{Answer, Early, Posted, SignedIn, Visit, fresh};

/// Every account route; pages and answers are never cached.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(overview::router())
        .merge(profile::router())
        .merge(security::router())
        .merge(sessions::router())
        .merge(applications::router())
        .merge(data::router())
        .merge(reauth::router())
        .merge(email::router())
        .merge(totp::router())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// A password typed again on an account page is held to the sign-in
/// limits, counted from where this request came.
pub fn attempt(app: &App, origin: crate::accounts::audit::Origin) -> reentry::Attempt {
    reentry::Attempt {
        limits: app.config.policy.login_limits,
        origin,
    }
}

/// The message on `field` when the throttle refused a password typed
/// again: « réessayez dans … ».
fn throttled_problem(field: &'static str, retry_after: i64) -> Problem {
    let (key, n) = if retry_after < 120 {
        ("reauth_throttled_seconds", retry_after)
    } else {
        ("reauth_throttled_minutes", (retry_after + 59) / 60)
    };
    Problem {
        field,
        key,
        figure: usize::try_from(n).ok(),
    }
}

/// A page answered to a throttled attempt: 429 with `Retry-After`.
fn too_many(mut response: Response, retry_after: i64) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The page as it is, or [`too_many`] when the answer came with a wait.
fn with_wait(response: Response, wait: Option<i64>) -> Response {
    match wait {
        Some(retry_after) => too_many(response, retry_after),
        None => response,
    }
}

/// A form page's status: 200 as asked for, `refused` with its problems.
fn form_status(problems: &[Problem], refused: StatusCode) -> StatusCode {
    match problems {
        [] => StatusCode::OK,
        _ => refused,
    }
}

/// One entry of the account navigation.
#[derive(Serialize)]
struct NavItem {
    href: &'static str,
    label: String,
    current: bool,
}

const SECTIONS: [(&str, &str); 6] = [
    (paths::ACCOUNT, "nav_overview"),
    (paths::ACCOUNT_PROFILE, "nav_profile"),
    (paths::ACCOUNT_SECURITY, "nav_security"),
    (paths::ACCOUNT_SESSIONS, "nav_sessions"),
    (paths::ACCOUNT_APPLICATIONS, "nav_applications"),
    (paths::ACCOUNT_DATA, "nav_data"),
];

/// What every account page shows around its own content.
#[derive(Serialize)]
struct Framed<P: Serialize> {
    csrf: String,
    nav: Vec<NavItem>,
    account_email: String,
    logout_href: &'static str,
    notice: Option<Notice>,
    #[serde(flatten)]
    page: P,
}

/// Renders an account page (`section` is its navigation entry and the
/// page's own path) inside the frame, with a fresh CSRF token.
pub fn render(
    app: &App,
    visit: Visit,
    status: StatusCode,
    section: &str,
    notice: Option<Notice>,
    page: impl PageTemplate,
) -> Response {
    let (jar, csrf) = csrf::token(app, visit.jar);
    let nav = SECTIONS
        .iter()
        .map(|&(href, key)| NavItem {
            href,
            label: app.pages.text(visit.lang, key),
            current: href == section,
        })
        .collect();
    let template = page.template();
    let framed = Framed {
        csrf,
        nav,
        account_email: visit.user.email.clone(),
        logout_href: paths::LOGOUT,
        notice,
        page,
    };
    let body = app
        .pages
        .render(status, template, visit.lang, section, framed);
    (jar, body).into_response()
}

/// A page's context knows its template.
pub trait PageTemplate: Serialize {
    fn template(&self) -> &'static str;
}

/// A titled message inside the frame (`account/message.html`).
#[derive(Serialize)]
pub struct Message {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub link_href: &'static str,
    pub link_label: String,
}

impl Message {
    pub fn new(
        app: &App,
        lang: Lang,
        title: &'static str,
        paragraphs: Vec<String>,
        back: &'static str,
    ) -> Message {
        Message {
            title: app.pages.text(lang, title),
            paragraphs,
            link_href: back,
            link_label: app.pages.text(lang, "account_title"),
        }
    }
}

impl PageTemplate for Message {
    fn template(&self) -> &'static str {
        "account/message.html"
    }
}

/// The messages of a form's fields and its error summary.
#[derive(Serialize, Default)]
struct Errors {
    pub fields: std::collections::BTreeMap<&'static str, Vec<String>>,
    pub summary: Vec<SummaryItem>,
}

#[derive(Serialize)]
pub struct SummaryItem {
    field: &'static str,
    message: String,
}

impl Errors {
    pub fn of(app: &App, lang: Lang, problems: &[Problem]) -> Errors {
        let mut errors = Errors::default();
        for p in problems {
            let message = app
                .pages
                .text(lang, p.key)
                .replace("{n}", &p.figure.unwrap_or_default().to_string());
            errors
                .fields
                .entry(p.field)
                .or_default()
                .push(message.clone());
            errors.summary.push(SummaryItem {
                field: p.field,
                message,
            });
        }
        errors
    }
}

/// A redirect after a form that worked (the page shows `done`).
pub fn done(to: &'static str, done: &str) -> Response {
    flow::see_other(&format!("{to}?done={done}"))
}

/// The notice of `?done=…` after a redirect.
fn done_notice(app: &App, lang: Lang, params: &Params) -> Option<Notice> {
    let key = match params.first("done")? {
        "saved" => "account_saved",
        "password" => "password_changed_text",
        "ended" => "session_ended",
        "others" => "sessions_others_ended",
        "withdrawn" => "application_withdrawn",
        "email" => "email_change_sent_text",
        "totp_off" => "totp_turned_off",
        _ => return None,
    };
    Notice::info(app.pages.text(lang, key))
}

/// « Cet élément n'existe pas ou n'appartient pas à votre compte »: a form
/// naming another citizen's session or consent, or a made-up one.
pub fn not_yours(app: &App, visit: Visit, section: &'static str) -> Response {
    let notice = Notice::error(app.pages.text(visit.lang, "account_not_found"));
    let page = Message::new(app, visit.lang, "account_title", vec![], section);
    render(app, visit, StatusCode::NOT_FOUND, section, notice, page)
}
