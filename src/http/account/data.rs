//! `/account/data`: the export of everything Sésame holds about the
//! citizen (JSON, no hash nor secret) and « Supprimer mon compte », after
//! the password (a clear page says what happens first).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::{
    Answer, Early, Errors, PageTemplate, Posted, SignedIn, Visit, attempt, form_status, render,
    throttled_problem, with_wait,
};
use crate::accounts::deletion::{self, Farewell};
use crate::accounts::export;
use crate::accounts::profile::Problem;
use crate::accounts::reauth::{self, Reentered};
use crate::accounts::totp::{self, Checked};
use crate::app::{App, AppState};
use crate::http::error::Internal;
use crate::http::forms::{self, MessagePage, Notice, Origin};
use crate::http::{cookies, paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_DATA, get(show))
        .route(paths::ACCOUNT_EXPORT, get(download))
        .route(paths::ACCOUNT_DELETE, post(delete))
}

#[derive(Serialize)]
struct DataPage {
    export_href: &'static str,
    delete_action: &'static str,
    /// Whether the deletion also asks for the second factor's code.
    second_factor: bool,
    errors: Errors,
}

impl PageTemplate for DataPage {
    fn template(&self) -> &'static str {
        "account/data.html"
    }
}

fn page(app: &App, visit: Visit, problems: &[Problem], second_factor: bool) -> Response {
    let status = form_status(problems, StatusCode::UNAUTHORIZED);
    let page = DataPage {
        export_href: paths::ACCOUNT_EXPORT,
        delete_action: paths::ACCOUNT_DELETE,
        second_factor,
        errors: Errors::of(app, visit.lang, problems),
    };
    render(app, visit, status, paths::ACCOUNT_DATA, None, page)
}

async fn show(State(app): State<AppState>, SignedIn(visit, _): SignedIn) -> Answer {
    let on = second_factor_on(&app, &visit).await?;
    Ok(page(&app, visit, &[], on))
}

/// Whether the citizen has a second factor (the deletion then asks for a
/// code or a recovery code too).
async fn second_factor_on(app: &App, visit: &Visit) -> Result<bool, Internal> {
    let sub = visit.session.sub.clone();
    let status = app.store.run(move |tx| totp::status(tx, &sub)).await?;
    Ok(status.since.is_some())
}

/// The JSON export of the signed-in citizen, and only theirs: the
/// session decides whose data it is, nothing in the request does.
async fn download(State(app): State<AppState>, SignedIn(visit, _): SignedIn) -> Answer {
    let (sub, now, clients) = (visit.session.sub.clone(), app.now(), app.clients());
    let data = app
        .store
        .run(move |tx| export::export(tx, &clients, &sub, now))
        .await?;
    let body = serde_json::to_string_pretty(&data).map_err(|e| Internal(e.to_string()))?;
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"mes-donnees-sesame.json\""),
        ),
    ];
    Ok((visit.jar, headers, body).into_response())
}

/// The visit again when the password was right; otherwise the page saying
/// it was wrong, or to wait (429) when the throttle refused it.
fn password_right(app: &App, visit: Visit, checked: Reentered, on: bool) -> Result<Visit, Early> {
    let (problem, wait) = match checked {
        Reentered::Right => return Ok(visit),
        Reentered::Wrong => {
            tracing::info!("account deletion refused: wrong password");
            (Problem::on("password", "reauth_failed"), None)
        }
        Reentered::Throttled { retry_after } => (
            throttled_problem("password", retry_after),
            Some(retry_after),
        ),
    };
    Err(Early::page(with_wait(
        page(app, visit, &[problem], on),
        wait,
    )))
}

/// With a second factor on, the deletion needs a right code (or recovery
/// code) as well: the visit again when it was, the page otherwise.
async fn code_right(
    app: &App,
    visit: Visit,
    typed: String,
    origin: &crate::accounts::audit::Origin,
) -> Result<Visit, Early> {
    let client = origin.address.clone().unwrap_or_default();
    let attempt = crate::http::mfa::attempt(app, client, origin.clone(), None, visit.lang);
    let (sub, now) = (visit.session.sub.clone(), app.now());
    let checked = app
        .store
        .run(move |tx| totp::check(tx, &sub, &typed, &attempt, now))
        .await?;
    let key = match checked {
        Checked::Code | Checked::Recovery { .. } | Checked::NotEnrolled => return Ok(visit),
        Checked::Refused => "delete_second_factor_wrong",
        Checked::Throttled { .. } => "code_throttled",
    };
    tracing::info!("account deletion refused: second factor");
    let problem = Problem::on("totp", key);
    Err(Early::page(page(app, visit, &[problem], true)))
}

/// The password (under the sign-in throttle) and, with a second factor
/// on, a code: the visit again when both are right, the page otherwise.
async fn proven(
    app: &App,
    visit: Visit,
    params: &crate::oidc::params::Params,
    origin: &crate::accounts::audit::Origin,
) -> Result<Visit, Early> {
    let password = params.first("password").unwrap_or_default().to_owned();
    let sub = visit.session.sub.clone();
    let attempt = attempt(app, origin.clone());
    let on = second_factor_on(app, &visit).await?;
    let checked =
        reauth::check_password(&app.store, &app.hasher, &sub, password, &attempt, app.now());
    let visit = password_right(app, visit, checked.await?, on)?;
    if !on {
        return Ok(visit);
    }
    let typed = params.first("totp").unwrap_or_default().to_owned();
    code_right(app, visit, typed, origin).await
}

async fn delete(State(app): State<AppState>, Origin(origin): Origin, posted: Posted) -> Answer {
    let back = paths::ACCOUNT_DATA;
    let (visit, params) = posted.checked(&app, back).await?;
    let visit = proven(&app, visit, &params, &origin).await?;
    let sub = visit.session.sub.clone();
    let signup_url = format!("{}{}", app.config.issuer, paths::SIGNUP);
    let (lang, now, clients, mailer) = (visit.lang, app.now(), app.clients(), app.mailer.clone());
    app.store
        .run(move |tx| {
            let farewell = Farewell {
                lang,
                signup_url: &signup_url,
            };
            deletion::delete_own_account(tx, &mailer, &clients, &sub, &farewell, &origin, now)
        })
        .await?;
    tracing::info!("account deleted by its citizen");
    app.backchannel.wake();
    app.mailer.queued();
    Ok(deleted(&app, visit))
}

/// « Compte supprimé », outside the frame (there is no account any more);
/// the session cookie is dropped.
fn deleted(app: &App, visit: Visit) -> Response {
    let t = |k| app.pages.text(visit.lang, k);
    let page = MessagePage {
        title: t("deleted_title"),
        paragraphs: vec![t("deleted_text")],
        notice: Notice::info(t("deleted_title")),
        link_href: Some(paths::SIGNUP.to_owned()),
        link_label: t("create_account"),
        ..MessagePage::default()
    };
    let jar = cookies::remove(visit.jar, cookies::SESSION, app.config.https());
    forms::message(
        app,
        jar,
        visit.lang,
        StatusCode::OK,
        paths::ACCOUNT_DATA,
        page,
    )
}
