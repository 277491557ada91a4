//! « Vérification en deux étapes »: the code step of a sign-in. After the
//! password (or for an existing session a client now wants stepped up),
//! the citizen types the code of their authenticator app or a recovery
//! code (`accounts::totp::prove`: ±1 step, no replay, throttled); the
//! session gains `otp` and the pending request carries on
//! (`flow::resume`), or the citizen goes home.

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
use super::session::{Lookup, Renewal};
use super::{csrf, flow, lang, paths};
use crate::accounts::Session;
use crate::accounts::totp::{self, Attempt, Proved};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::authorize::AuthRequest;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::SECOND_FACTOR, get(show).post(submit))
}

#[derive(Serialize)]
struct CodePage {
    action: &'static str,
    csrf: String,
    interaction: String,
    error: Option<String>,
    client_name: Option<String>,
    logout_href: &'static str,
}

/// The pending request the code step belongs to, if any.
struct Pending {
    id: String,
    req: AuthRequest,
    /// The session that typed its password for this request.
    login_sid: Option<String>,
}

/// The pending request named by `params` and the page's language; the
/// « expired » page when the request is gone.
async fn open(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Result<(CookieJar, Lang, Option<Pending>), Response>, Internal> {
    let loaded = match params.first("interaction").filter(|id| !id.is_empty()) {
        Some(id) => Some((id.to_owned(), flow::load(app, &jar, id).await?)),
        None => None,
    };
    let ui_locales = loaded
        .as_ref()
        .and_then(|(_, p)| p.as_ref())
        .and_then(|(req, _)| req.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, headers, params.first("lang"), ui_locales.as_deref());
    Ok(match loaded {
        None => Ok((jar, lang, None)),
        Some((id, Some((req, login_sid)))) => Ok((jar, lang, Some(Pending { id, req, login_sid }))),
        Some((_, None)) => Err((jar, flow::expired(app, lang)).into_response()),
    })
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let (jar, lang, pending) = match open(&app, jar, &headers, &params).await? {
        Ok(opened) => opened,
        Err(expired) => return Ok(expired),
    };
    let lookup = Lookup::of(&app, &jar);
    let owed = app
        .store
        .run(
            move |tx| match lookup.map(|l| l.run(tx)).transpose()?.flatten() {
                Some(s) => Ok(Some((totp::owes_code(tx, &s)?, s))),
                None => Ok(None),
            },
        )
        .await?;
    match owed {
        Some((true, _)) => Ok(render(
            &app,
            jar,
            lang,
            pending.as_ref(),
            None,
            StatusCode::OK,
        )),
        Some((false, session)) => carry_on(&app, jar, lang, pending, session).await,
        None => Ok((jar, to_login(pending.as_ref())).into_response()),
    }
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
    let (jar, lang, pending) = match open(&app, jar, &headers, &form).await? {
        Ok(opened) => opened,
        Err(expired) => return Ok(expired),
    };
    if !csrf::verify(&app, &jar, form.first(csrf::FIELD)) {
        let error = Some(app.pages.text(lang, "csrf_failed"));
        let status = StatusCode::BAD_REQUEST;
        return Ok(render(&app, jar, lang, pending.as_ref(), error, status));
    }
    let typed = answer_of(&form);
    let service = pending.as_ref().map(|p| p.req.client_id.to_string());
    let attempt = attempt(&app, client, audit, service, lang);
    let (renewal, lookup, now) = (Renewal::new(), Lookup::of(&app, &jar), app.now());
    let rotate = renewal.digest.clone();
    let proved = app
        .store
        .run(move |tx| {
            let session = lookup.map(|l| l.run(tx)).transpose()?.flatten();
            totp::prove(tx, session, &typed, &attempt, &rotate, now)
        })
        .await?;
    answer(&app, jar, lang, pending, proved, renewal).await
}

/// Where a second-factor answer comes from, the limits it is held to,
/// and how the citizen hears of what it changed (mails in `lang`, the
/// citizen's own language first).
pub fn attempt(
    app: &App,
    client: String,
    audit: crate::accounts::audit::Origin,
    service: Option<String>,
    lang: Lang,
) -> Attempt {
    Attempt {
        client,
        limits: app.config.policy.login_limits,
        audit,
        service,
        notices: totp::Notices {
            mailer: app.mailer.clone(),
            forgot_url: format!("{}{}", app.config.issuer, paths::FORGOT),
            lang,
        },
    }
}

/// The code typed, or else the recovery code typed (two forms, one step).
fn answer_of(form: &Params) -> String {
    let typed = |k| form.first(k).map(str::trim).filter(|v| !v.is_empty());
    typed("code")
        .or_else(|| typed("recovery_code"))
        .unwrap_or_default()
        .to_owned()
}

/// The page, redirect or continuation an answer comes to.
async fn answer(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    pending: Option<Pending>,
    proved: Proved,
    renewal: Renewal,
) -> Result<Response, Internal> {
    let (error, status) = match proved {
        Proved::SteppedUp {
            session,
            recovery_left,
        } => {
            if recovery_left.is_some() {
                app.mailer.queued();
            }
            let jar = renewal.into_jar(app, jar);
            return carry_on(app, jar, lang, pending, session).await;
        }
        Proved::Nothing(Some(session)) => return carry_on(app, jar, lang, pending, session).await,
        Proved::Nothing(None) => return Ok((jar, to_login(pending.as_ref())).into_response()),
        Proved::Refused => (app.pages.text(lang, "code_refused"), StatusCode::OK),
        Proved::Throttled { retry_after } => {
            let error = super::login::wait_message(app, lang, "code_throttled_wait", retry_after);
            let status = StatusCode::TOO_MANY_REQUESTS;
            let page = render(app, jar, lang, pending.as_ref(), Some(error), status);
            let retry = [(header::RETRY_AFTER, retry_after.to_string())];
            return Ok((retry, page).into_response());
        }
    };
    Ok(render(
        app,
        jar,
        lang,
        pending.as_ref(),
        Some(error),
        status,
    ))
}

/// Past the code step: the pending request carried on, or home.
async fn carry_on(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    pending: Option<Pending>,
    session: Session,
) -> Result<Response, Internal> {
    let Some(Pending { id, req, login_sid }) = pending else {
        return Ok((jar, flow::see_other(paths::HOME)).into_response());
    };
    let response = flow::resume(app, lang, id, req, login_sid, session).await?;
    Ok((jar, response).into_response())
}

/// No session in this browser: sign in first (the request carried along).
fn to_login(pending: Option<&Pending>) -> Response {
    match pending {
        Some(p) => flow::see_other(&format!("{}?interaction={}", paths::LOGIN, p.id)),
        None => flow::see_other(paths::LOGIN),
    }
}

fn render(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    pending: Option<&Pending>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(app, jar);
    let interaction = pending.map(|p| p.id.clone()).unwrap_or_default();
    let here = match pending {
        Some(p) => format!("{}?interaction={}", paths::SECOND_FACTOR, p.id),
        None => paths::SECOND_FACTOR.to_owned(),
    };
    let page = CodePage {
        action: paths::SECOND_FACTOR,
        csrf,
        interaction,
        error,
        client_name: pending
            .and_then(|p| app.clients().get(&p.req.client_id).map(|c| c.name.clone())),
        logout_href: paths::LOGOUT,
    };
    let body = app.pages.render(status, "mfa.html", lang, &here, page);
    (jar, body).into_response()
}
