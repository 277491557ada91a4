//! « Se connecter »: the login form, its check (argon2id off the executor,
//! the same answer for an unknown email and a wrong password) and the
//! session it starts.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::Internal;
use super::pages::Render;
use super::{csrf, flow, lang, paths, session};
use crate::accounts::users::Email;
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::authorize::AuthRequest;
use crate::oidc::flow::Progress;
use crate::oidc::params::Params;
use crate::store::{interactions, users};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::LOGIN, get(show).post(submit))
}

#[derive(Serialize)]
struct LoginPage {
    action: &'static str,
    csrf: String,
    interaction: String,
    email: String,
    error: Option<String>,
    client_name: Option<String>,
    forgot_href: String,
    signup_href: String,
}

/// What a login page needs to know about the pending request.
struct Pending {
    id: String,
    req: AuthRequest,
}

async fn pending(app: &App, params: &Params) -> Result<Result<Option<Pending>, ()>, Internal> {
    let Some(id) = params.first("interaction") else {
        return Ok(Ok(None));
    };
    Ok(match flow::load(app, id).await? {
        Some((req, _)) => Ok(Some(Pending {
            id: id.to_owned(),
            req,
        })),
        None => Err(()),
    })
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let pending = pending(&app, &params).await?;
    let ui_locales = pending
        .as_ref()
        .ok()
        .and_then(|p| p.as_ref())
        .and_then(|p| p.req.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, &headers, params.first("lang"), ui_locales.as_deref());
    let Ok(pending) = pending else {
        return Ok((jar, flow::expired(&app, lang)).into_response());
    };
    let email = pending
        .as_ref()
        .and_then(|p| p.req.login_hint.clone())
        .unwrap_or_default();
    Ok(render(
        &app,
        jar,
        lang,
        pending.as_ref(),
        email,
        None,
        StatusCode::OK,
    ))
}

async fn submit(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let pending = pending(&app, &form).await?;
    let ui_locales = pending
        .as_ref()
        .ok()
        .and_then(|p| p.as_ref())
        .and_then(|p| p.req.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, &headers, None, ui_locales.as_deref());
    let Ok(pending) = pending else {
        return Ok((jar, flow::expired(&app, lang)).into_response());
    };
    let email_input = form.first("email").unwrap_or_default().trim().to_owned();
    let fail = |jar, key: &'static str, status| {
        let message = app.pages.text(lang, key);
        render(
            &app,
            jar,
            lang,
            pending.as_ref(),
            email_input.clone(),
            Some(message),
            status,
        )
    };
    if !csrf::verify(&jar, form.first(csrf::FIELD)) {
        return Ok(fail(jar, "csrf_failed", StatusCode::BAD_REQUEST));
    }
    let password = form.first("password").unwrap_or_default().to_owned();
    let Some(email) =
        Email::parse(&email_input).filter(|_| !password.is_empty() && password.len() <= 1024)
    else {
        return Ok(fail(jar, "login_failed", StatusCode::OK));
    };
    let lookup = email.as_str().to_owned();
    let user = app
        .store
        .run(move |conn| users::by_email(conn, &lookup))
        .await?;
    let checked = app
        .hasher
        .verify(user.as_ref().map(|u| u.password_hash.clone()), password)
        .await;
    let Some(user) = user.filter(|_| checked.ok) else {
        tracing::info!("login refused");
        return Ok(fail(jar, "login_failed", StatusCode::OK));
    };
    if !user.email_verified {
        let id = pending.as_ref().map(|p| p.id.clone());
        let notice = super::forms::Notice::error(app.pages.text(lang, "login_unverified"));
        let page = super::signup::check_email(&app, jar, lang, &user.email, id, false, notice);
        return Ok(page);
    }
    if let Some(hash) = checked.rehash {
        let (sub, now) = (user.sub.clone(), app.now());
        app.store
            .run(move |conn| users::set_password_hash(conn, &sub, &hash, now))
            .await?;
    }
    let (jar, session) = session::start(&app, jar, user.sub, vec!["pwd".into()]).await?;
    tracing::info!(sid = %session.sid, "citizen signed in");
    let Some(Pending { id, req }) = pending else {
        return Ok((jar, flow::see_other(paths::HOME)).into_response());
    };
    let (interaction, sid) = (id.clone(), session.sid.clone());
    app.store
        .run(move |conn| interactions::set_login(conn, &interaction, &sid))
        .await?;
    let response = flow::proceed(
        &app,
        lang,
        req,
        Some(id),
        Some(session),
        Progress {
            signed_in: true,
            consented: false,
        },
    )
    .await?;
    Ok((jar, response).into_response())
}

fn render(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    pending: Option<&Pending>,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(jar, app.config.https());
    let query = pending
        .map(|p| format!("?interaction={}", p.id))
        .unwrap_or_default();
    let page = LoginPage {
        action: paths::LOGIN,
        csrf,
        interaction: pending.map(|p| p.id.clone()).unwrap_or_default(),
        email,
        error,
        client_name: pending
            .and_then(|p| app.clients().get(&p.req.client_id).map(|c| c.name.clone())),
        forgot_href: format!("{}{query}", paths::FORGOT),
        signup_href: format!("{}{query}", paths::SIGNUP),
    };
    let here = format!("{}{query}", paths::LOGIN);
    (
        jar,
        app.pages.render(status, "login.html", lang, &here, page),
    )
        .into_response()
}
