//! « Mon compte » (DESIGN §1.6, §4b): the citizen's own space under
//! `/account`. Every page needs a signed-in session (else the login page),
//! is `no-store`, and every form carries the CSRF token. Sensitive actions
//! ask for the password again when the sign-in is older than five minutes
//! ([`stale`] and the `/account/reauth` page). The shared pieces live
//! here: the visit (session, citizen, language), the page frame with its
//! navigation, and the answers every page gives the same way.

mod applications;
mod data;
mod email;
mod overview;
mod profile;
mod reauth;
mod security;
mod sessions;
mod totp;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

use super::error::Internal;
use super::forms::Notice;
use super::pages::Render;
use super::{csrf, flow, lang, paths, session};
use crate::accounts::profile::Problem;
use crate::accounts::reauth::{self as reentry};
use crate::accounts::{Session, User};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::params::Params;

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

/// A signed-in citizen on one of their pages.
pub struct Visit {
    pub jar: CookieJar,
    pub lang: Lang,
    pub session: Session,
    pub user: User,
}

/// The session and citizen of this browser, or the login page.
pub async fn visit(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    explicit_lang: Option<&str>,
) -> Result<Result<Visit, Response>, Internal> {
    let lookup = session::Lookup::of(app, &jar);
    let found = match lookup {
        Some(lookup) => {
            app.store
                .run(move |tx| {
                    let Some(session) = lookup.run(tx)? else {
                        return Ok(None);
                    };
                    let owes = crate::accounts::totp::owes_code(tx, &session)?;
                    let user = crate::accounts::users::by_sub(tx, &session.sub)?;
                    Ok(user.map(|u| (session, u, owes)))
                })
                .await?
        }
        None => None,
    };
    let user_lang = found.as_ref().and_then(|(_, u, _)| u.locale.clone());
    let (jar, lang) = lang::choose(jar, headers, explicit_lang, user_lang.as_deref());
    Ok(match found {
        // A session that still owes its second factor (the citizen enrolled
        // one, maybe in another browser) proves it before anything else.
        Some((_, _, true)) => Err((jar, flow::see_other(paths::SECOND_FACTOR)).into_response()),
        Some((session, user, false)) => Ok(Visit {
            jar,
            lang,
            session,
            user,
        }),
        None => Err((jar, flow::see_other(paths::LOGIN)).into_response()),
    })
}

/// A GET visit: `?lang=` is honoured.
async fn get_visit(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    query: Option<String>,
) -> Result<Result<(Visit, Params), Response>, Internal> {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    Ok(visit(app, jar, headers, params.first("lang"))
        .await?
        .map(|v| (v, params)))
}

/// A form posted by a signed-in citizen, its CSRF token checked: a bad one
/// gets a page saying the form expired, with nothing changed.
pub async fn posted(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    body: &Bytes,
    back: &'static str,
) -> Result<Result<(Visit, Params), Response>, Internal> {
    let form = Params::parse(body);
    let visit = match visit(app, jar, headers, None).await? {
        Ok(visit) => visit,
        Err(login) => return Ok(Err(login)),
    };
    if !csrf::verify(app, &visit.jar, form.first(csrf::FIELD)) {
        let notice = Notice::error(app.pages.text(visit.lang, "csrf_failed"));
        let page = Message::new(app, visit.lang, "account_title", vec![], back);
        return Ok(Err(render(
            app,
            visit,
            StatusCode::BAD_REQUEST,
            back,
            notice,
            page,
        )));
    }
    Ok(Ok((visit, form)))
}

/// When the sign-in is older than five minutes: the password page, which
/// comes back to `here` once the password is typed again.
pub fn stale(app: &App, visit: &Visit, here: &str) -> Option<Response> {
    if reentry::is_fresh(&visit.session, app.now()) {
        return None;
    }
    let target = format!("{}?return={}", paths::ACCOUNT_REAUTH, urlencode(here));
    Some(flow::see_other(&target))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
