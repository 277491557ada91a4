//! The address change: `/account/email` (the form, after the password if
//! the sign-in is older than five minutes), the link sent to the new
//! address (`/account/email/confirm`) and the « Ce n'était pas moi » link
//! sent to the old one (`/account/email/cancel`). Both links show a
//! button first and act on its POST, so a mail scanner opening the link
//! changes nothing; neither needs a session (the mail may be read
//! elsewhere).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::{
    Answer, Errors, PageTemplate, Posted, SignedIn, Visit, done, form_status, fresh, render,
};
use crate::accounts::email_change::{self, Confirmed, Requested, Urls};
use crate::accounts::profile::Problem;
use crate::app::{App, AppState};
use crate::http::error::Internal;
use crate::http::forms::{self, Button, ClientIp, MessagePage, Origin};
use crate::http::{csrf, lang, paths};
use crate::i18n::Lang;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_EMAIL, get(show).post(request))
        .route(
            paths::ACCOUNT_EMAIL_CONFIRM,
            get(confirm_page).post(confirm),
        )
        .route(paths::ACCOUNT_EMAIL_CANCEL, get(cancel_page).post(cancel))
}

#[derive(Serialize)]
struct EmailPage {
    action: &'static str,
    current: String,
    new_email: String,
    errors: Errors,
}

impl PageTemplate for EmailPage {
    fn template(&self) -> &'static str {
        "account/email.html"
    }
}

fn page(app: &App, visit: Visit, typed: String, problems: &[Problem]) -> Response {
    let status = form_status(problems, StatusCode::UNPROCESSABLE_ENTITY);
    let page = EmailPage {
        action: paths::ACCOUNT_EMAIL,
        current: visit.user.email.clone(),
        new_email: typed,
        errors: Errors::of(app, visit.lang, problems),
    };
    render(app, visit, status, paths::ACCOUNT_PROFILE, None, page)
}

async fn show(State(app): State<AppState>, SignedIn(visit, _): SignedIn) -> Answer {
    fresh(&app, &visit, paths::ACCOUNT_EMAIL)?;
    Ok(page(&app, visit, String::new(), &[]))
}

async fn request(State(app): State<AppState>, peer: ClientIp, posted: Posted) -> Answer {
    let here = paths::ACCOUNT_EMAIL;
    let (visit, params) = posted.checked(&app, here).await?;
    fresh(&app, &visit, here)?;
    let typed = params
        .first("new_email")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let key = match send(&app, &visit, peer, typed.clone()).await? {
        Requested::Sent(link) => {
            forms::queued(&app, Some(&link));
            return Ok(done(paths::ACCOUNT_PROFILE, "email"));
        }
        Requested::Invalid if typed.is_empty() => "required_field",
        Requested::Invalid => "signup_email_invalid",
        Requested::Same => "email_same",
        Requested::Limited(_) => "limit_address",
    };
    Ok(page(&app, visit, typed, &[Problem::on("new_email", key)]))
}

/// Sends the confirmation link to the new address and the notice to the
/// old one (the same lifetime and limits as sign-up links).
async fn send(
    app: &App,
    visit: &Visit,
    peer: ClientIp,
    typed: String,
) -> Result<Requested, Internal> {
    let ctx = forms::mail_context(app, peer, visit.lang, None, None);
    let issuer = &app.config.issuer;
    let confirm = format!("{issuer}{}?token=", paths::ACCOUNT_EMAIL_CONFIRM);
    let cancel = format!("{issuer}{}?token=", paths::ACCOUNT_EMAIL_CANCEL);
    let (sub, now, mailer) = (visit.session.sub.clone(), app.now(), app.mailer.clone());
    Ok(app
        .store
        .run(move |tx| {
            let urls = Urls {
                confirm: &confirm,
                cancel: &cancel,
            };
            email_change::request(tx, &mailer, &sub, &typed, &ctx, &urls, now)
        })
        .await?)
}

/// A link page: its language, and the token it carries.
fn link_visit(jar: CookieJar, headers: &HeaderMap, params: &Params) -> (CookieJar, Lang, String) {
    let (jar, lang) = lang::choose(jar, headers, params.first("lang"), None);
    let token = params.first("token").unwrap_or_default().to_owned();
    (jar, lang, token)
}

/// The page with one button that acts on the link.
fn link_button(app: &App, jar: CookieJar, lang: Lang, token: String, cancel: bool) -> Response {
    let t = |k| app.pages.text(lang, k);
    let (title, text, label, action) = if cancel {
        let keys = (
            "email_cancel_title",
            "email_cancel_text",
            "email_cancel_submit",
        );
        (keys.0, keys.1, keys.2, paths::ACCOUNT_EMAIL_CANCEL)
    } else {
        let keys = ("email_change", "email_change_intro", "continue");
        (keys.0, keys.1, keys.2, paths::ACCOUNT_EMAIL_CONFIRM)
    };
    let page = MessagePage {
        title: t(title),
        paragraphs: vec![t(text)],
        button: Some(Button {
            action,
            fields: vec![("token", token)],
            question: None,
            label: t(label),
        }),
        ..MessagePage::default()
    };
    forms::message(app, jar, lang, StatusCode::OK, action, page)
}

async fn confirm_page(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let (jar, lang, token) = link_visit(jar, &headers, &params);
    link_button(&app, jar, lang, token, false)
}

async fn cancel_page(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let (jar, lang, token) = link_visit(jar, &headers, &params);
    link_button(&app, jar, lang, token, true)
}

/// The outcome page of a link (no session needed).
fn outcome(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    status: StatusCode,
    page: MessagePage,
) -> Response {
    forms::message(app, jar, lang, status, paths::ACCOUNT, page)
}

async fn confirm(
    State(app): State<AppState>,
    Origin(origin): Origin,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let params = Params::parse(&body);
    let (jar, lang, token) = link_visit(jar, &headers, &params);
    if !csrf::verify(&app, &jar, params.first(csrf::FIELD)) {
        return Ok(link_button(&app, jar, lang, token, false));
    }
    let now = app.now();
    let confirmed = app
        .store
        .run(move |tx| email_change::confirm(tx, &token, &origin, now))
        .await?;
    Ok(confirmed_page(&app, jar, lang, confirmed))
}

/// The page after the confirmation link was used (or refused).
fn confirmed_page(app: &App, jar: CookieJar, lang: Lang, confirmed: Confirmed) -> Response {
    let t = |k| app.pages.text(lang, k);
    let (status, title, paragraphs) = match confirmed {
        Confirmed::Done(email) => (
            StatusCode::OK,
            "email_changed_title",
            vec![t("email_changed_text"), email],
        ),
        Confirmed::Taken => (
            StatusCode::CONFLICT,
            "email_change",
            vec![t("email_change_taken")],
        ),
        Confirmed::Invalid => (
            StatusCode::GONE,
            "link_invalid_title",
            vec![t("link_used_text")],
        ),
    };
    let page = MessagePage {
        title: t(title),
        paragraphs,
        link_href: Some(paths::ACCOUNT.to_owned()),
        link_label: t("account_title"),
        ..MessagePage::default()
    };
    outcome(app, jar, lang, status, page)
}

async fn cancel(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let params = Params::parse(&body);
    let (jar, lang, token) = link_visit(jar, &headers, &params);
    let t = |k| app.pages.text(lang, k);
    if !csrf::verify(&app, &jar, params.first(csrf::FIELD)) {
        return Ok(link_button(&app, jar, lang, token, true));
    }
    let now = app.now();
    let cancelled = app
        .store
        .run(move |tx| email_change::cancel(tx, &token, now))
        .await?;
    let (status, title, text) = if cancelled {
        (
            StatusCode::OK,
            "email_cancelled_title",
            "email_cancelled_text",
        )
    } else {
        (
            StatusCode::GONE,
            "email_cancel_title",
            "email_cancel_too_late",
        )
    };
    let page = MessagePage {
        title: t(title),
        paragraphs: vec![t(text)],
        link_href: Some(paths::FORGOT.to_owned()),
        link_label: t("forgot_password"),
        ..MessagePage::default()
    };
    Ok(outcome(&app, jar, lang, status, page))
}
