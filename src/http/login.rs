//! « Se connecter »: the login form, its check (`accounts::login`: argon2id
//! off the executor, the same answer for an unknown email and a wrong
//! password, throttled after failures) and the session it starts.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::client_ip::ClientIp;
use super::error::Internal;
use super::pages::Render;
use super::{csrf, flow, lang, paths, session};
use crate::accounts::login::{Login, Origin, login};
use crate::accounts::signup;
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::metrics::SignIn;
use crate::oidc::authorize::AuthRequest;
use crate::oidc::params::Params;

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

async fn pending(
    app: &App,
    jar: &CookieJar,
    params: &Params,
) -> Result<Result<Option<Pending>, ()>, Internal> {
    let Some(id) = params.first("interaction") else {
        return Ok(Ok(None));
    };
    Ok(match flow::load(app, jar, id).await? {
        Some((req, _)) => Ok(Some(Pending {
            id: id.to_owned(),
            req,
        })),
        None => Err(()),
    })
}

/// The pending request named by `params` and the page's language; the
/// « expired » page when the request is gone.
async fn open(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    params: &Params,
    lang_param: Option<&str>,
) -> Result<Result<(CookieJar, Lang, Option<Pending>), Response>, Internal> {
    let pending = pending(app, &jar, params).await?;
    let ui_locales = pending
        .as_ref()
        .ok()
        .and_then(|p| p.as_ref())
        .and_then(|p| p.req.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, headers, lang_param, ui_locales.as_deref());
    Ok(match pending {
        Ok(pending) => Ok((jar, lang, pending)),
        Err(()) => Err((jar, flow::expired(app, lang)).into_response()),
    })
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let (jar, lang, pending) =
        match open(&app, jar, &headers, &params, params.first("lang")).await? {
            Ok(opened) => opened,
            Err(expired) => return Ok(expired),
        };
    let email = pending
        .as_ref()
        .and_then(|p| p.req.login_hint.clone())
        .unwrap_or_default();
    let page = Form {
        pending: pending.as_ref(),
        email,
        error: None,
    };
    Ok(render(&app, jar, lang, page, StatusCode::OK))
}

async fn submit(
    State(app): State<AppState>,
    ClientIp(client): ClientIp,
    super::forms::Origin(audit): super::forms::Origin,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let (jar, lang, pending) = match open(&app, jar, &headers, &form, None).await? {
        Ok(opened) => opened,
        Err(expired) => return Ok(expired),
    };
    let email = form.first("email").unwrap_or_default().trim().to_owned();
    if !csrf::verify(&app, &jar, form.first(csrf::FIELD)) {
        let error = app.pages.text(lang, "csrf_failed");
        let form = Form::failed(pending.as_ref(), email, error);
        return Ok(render(&app, jar, lang, form, StatusCode::BAD_REQUEST));
    }
    let password = form.first("password").unwrap_or_default().to_owned();
    let origin = Origin {
        client: &client,
        limits: app.config.policy.login_limits,
        audit,
        service: pending.as_ref().map(|p| p.req.client_id.to_string()),
    };
    let outcome = login(&app.store, &app.hasher, &email, password, origin, app.now()).await?;
    observe(&outcome, pending.as_ref(), &client);
    answer(&app, jar, lang, pending, email, outcome).await
}

/// The page, redirect or continuation a sign-in attempt comes to.
async fn answer(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    pending: Option<Pending>,
    email: String,
    outcome: Login,
) -> Result<Response, Internal> {
    let (error, status) = match outcome {
        Login::Accepted(user) => return signed_in(app, jar, lang, user.sub, pending).await,
        Login::Unverified(user) => {
            let id = pending.map(|p| p.id);
            let notice = super::forms::Notice::error(app.pages.text(lang, "login_unverified"));
            let page = super::signup::check_email(app, jar, lang, &user.email, id, false, notice);
            return Ok(page);
        }
        Login::Throttled { retry_after } => {
            let error = throttled_message(app, lang, retry_after);
            let form = Form::failed(pending.as_ref(), email, error);
            let page = render(app, jar, lang, form, StatusCode::TOO_MANY_REQUESTS);
            let retry = [(header::RETRY_AFTER, retry_after.to_string())];
            return Ok((retry, page).into_response());
        }
        Login::PendingSignup(signup_id) => {
            let id = pending.map(|p| p.id);
            return pending_signup(app, jar, lang, &email, signup_id, id).await;
        }
        Login::Refused => (app.pages.text(lang, "login_failed"), StatusCode::OK),
        Login::Disabled => (
            app.pages.text(lang, "login_disabled"),
            StatusCode::FORBIDDEN,
        ),
    };
    let form = Form::failed(pending.as_ref(), email, error);
    Ok(render(app, jar, lang, form, status))
}

/// The password of a sign-up still waiting for its link: « vérifiez votre
/// courriel », the same page whether or not the address has an account.
/// This browser proved the sign-up's password, so its next links are
/// bound here (and to this request).
async fn pending_signup(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    email: &str,
    signup_id: String,
    interaction: Option<String>,
) -> Result<Response, Internal> {
    let (jar, browser) = super::forms::browser_cookie(jar, app.config.https());
    let bound = interaction.clone();
    app.store
        .run(move |tx| signup::proven_in(tx, &signup_id, &browser, bound.as_deref()))
        .await?;
    let notice = super::forms::Notice::error(app.pages.text(lang, "login_unverified"));
    Ok(super::signup::check_email(
        app,
        jar,
        lang,
        email,
        interaction,
        false,
        notice,
    ))
}

/// Counts a sign-in attempt; a refused one is logged for the operator
/// with the service and the client's address — never the address typed
/// nor the password.
fn observe(outcome: &Login, pending: Option<&Pending>, address: &str) {
    let counted = match outcome {
        Login::Accepted(_) => SignIn::Succeeded,
        Login::Throttled { .. } => SignIn::Throttled,
        Login::Refused => {
            let client = pending.map_or("-", |p| p.req.client_id.as_str());
            tracing::info!(client, address, "login refused");
            SignIn::Failed
        }
        Login::Unverified(_) | Login::PendingSignup(_) | Login::Disabled => return,
    };
    crate::metrics::sign_in(counted);
}

/// A session for `sub`, then the pending request carried on (or home).
async fn signed_in(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    sub: String,
    pending: Option<Pending>,
) -> Result<Response, Internal> {
    let (jar, session) = session::start(app, jar, sub, vec!["pwd".into()]).await?;
    tracing::info!(sid = %session.sid, "citizen signed in");
    let Some(Pending { id, req }) = pending else {
        return Ok((jar, flow::see_other(paths::HOME)).into_response());
    };
    let response = flow::after_sign_in(app, lang, id, req, session).await?;
    Ok((jar, response).into_response())
}

/// What the login form shows.
struct Form<'a> {
    pending: Option<&'a Pending>,
    email: String,
    error: Option<String>,
}

impl<'a> Form<'a> {
    /// The form again, with the address typed and what went wrong.
    fn failed(pending: Option<&'a Pending>, email: String, error: impl Into<String>) -> Form<'a> {
        Form {
            pending,
            email,
            error: Some(error.into()),
        }
    }
}

fn render(app: &App, jar: CookieJar, lang: Lang, form: Form<'_>, status: StatusCode) -> Response {
    let Form {
        pending,
        email,
        error,
    } = form;
    let (jar, csrf) = csrf::token(app, jar);
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

/// When to try again, in words: seconds below two minutes, then minutes
/// (rounded up, so the citizen never comes back too early).
pub(super) fn throttled_message(app: &App, lang: Lang, retry_after: i64) -> String {
    wait_message(app, lang, "login_throttled", retry_after)
}

/// The text of `key` with its `{delay}` in words.
pub(super) fn wait_message(app: &App, lang: Lang, key: &'static str, retry_after: i64) -> String {
    let message = key;
    let (key, n) = if retry_after < 120 {
        ("delay_seconds", retry_after)
    } else {
        ("delay_minutes", (retry_after + 59) / 60)
    };
    let delay = app.pages.text(lang, key).replace("{n}", &n.to_string());
    app.pages.text(lang, message).replace("{delay}", &delay)
}
