//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2–§4),
//! GET and POST: checks the request (`oidc::logout::plan`), asks the
//! citizen « Se déconnecter ? » on a CSRF-protected page when the request
//! does not prove who it is for, then ends the session (revoking what it
//! produced and queueing back-channel logouts), clears the cookie and goes
//! back to the registered `post_logout_redirect_uri` with `state`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::{self, Internal};
use super::pages::Render;
use super::{csrf, flow, lang, paths, session};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::logout::{self, AfterLogout, LogoutPlan};
use crate::oidc::params::Params;
use crate::oidc::tokens;
use crate::secrets;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::LOGOUT, get(logout_get).post(logout_post))
}

async fn logout_get(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    logout(&app, jar, &headers, params, None).await
}

/// A relying party's POST, or the citizen's answer on the page (which
/// carries `decision` and the CSRF token).
async fn logout_post(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let params = Params::parse(&body);
    let decision = params.first("decision").map(str::to_owned);
    logout(&app, jar, &headers, params, decision).await
}

async fn logout(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    params: Params,
    decision: Option<String>,
) -> Result<Response, Internal> {
    let current = session::current(app, &jar).await?;
    let hint = |t: &str| tokens::id_token_hint(&app.keys, &app.config.issuer, t);
    let planned = logout::plan(&params, &hint, &app.clients(), current.as_ref());
    let ui_locales = planned.as_ref().ok().and_then(|p| p.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, headers, params.first("lang"), ui_locales.as_deref());
    let plan = match planned {
        Ok(plan) => plan,
        Err(why) => return Ok((jar, refused(app, lang, why)).into_response()),
    };
    let answered = decision.is_some();
    if answered && !csrf::verify(app, &jar, params.first(csrf::FIELD)) {
        let problem = Some(app.pages.text(lang, "csrf_failed"));
        let status = StatusCode::BAD_REQUEST;
        return Ok(confirm_page(app, jar, lang, &plan, problem, status));
    }
    match decision.as_deref() {
        None if plan.confirm => Ok(confirm_page(app, jar, lang, &plan, None, StatusCode::OK)),
        None | Some("logout") => finish(app, jar, lang, &plan).await,
        Some(_) => Ok((jar, flow::see_other(paths::HOME)).into_response()),
    }
}

/// The page for a logout request that cannot be honoured.
fn refused(app: &App, lang: Lang, why: String) -> Response {
    let (title, text) = ("logout_error_title", "logout_error_text");
    error::page(app, lang, StatusCode::BAD_REQUEST, title, text, Some(why))
}

/// Ends this browser's session, clears its cookie and says goodbye.
async fn finish(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    plan: &LogoutPlan,
) -> Result<Response, Internal> {
    let https = app.config.https();
    if let Some(cookie) = super::cookies::token(&jar, super::cookies::SESSION, https) {
        let digest = secrets::digest(&cookie);
        let (clients, now) = (app.clients(), app.now());
        let wants = move |id: &str| {
            clients
                .get(id)
                .is_some_and(|c| c.backchannel_logout_uri.is_some())
        };
        let ended = app
            .store
            .run(move |conn| logout::end_session(conn, &digest, &wants, now))
            .await?;
        if let Some(ended) = ended {
            tracing::info!(sid = %ended.sid, notified = ended.notified.len(), "citizen signed out");
            if !ended.notified.is_empty() {
                app.backchannel.wake();
            }
        }
    }
    let jar = super::cookies::remove(jar, super::cookies::SESSION, https);
    let response = match plan.after.as_ref().and_then(AfterLogout::location) {
        Some(location) => flow::see_other(&location),
        None => logged_out_page(app, lang),
    };
    Ok((jar, response).into_response())
}

#[derive(Serialize)]
struct ConfirmPage {
    action: &'static str,
    csrf: String,
    fields: Vec<(&'static str, String)>,
    client_name: Option<String>,
    error: Option<String>,
}

/// The checked request, carried by the confirmation form and its
/// language links (never the `id_token_hint`).
fn carried(plan: &LogoutPlan) -> Vec<(&'static str, String)> {
    let mut fields = Vec::new();
    if let Some(id) = &plan.client_id {
        fields.push(("client_id", id.to_string()));
    }
    if let Some(after) = &plan.after {
        fields.push(("post_logout_redirect_uri", after.uri.clone()));
        if let Some(state) = &after.state {
            fields.push(("state", state.clone()));
        }
    }
    if let Some(locales) = &plan.ui_locales {
        fields.push(("ui_locales", locales.clone()));
    }
    fields
}

fn confirm_page(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    plan: &LogoutPlan,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(app, jar);
    let fields = carried(plan);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let page = ConfirmPage {
        action: paths::LOGOUT,
        csrf,
        fields,
        client_name: plan
            .client_id
            .as_ref()
            .and_then(|id| app.clients().get(id).map(|c| c.name.clone())),
        error,
    };
    let here = format!("{}?{query}", paths::LOGOUT);
    let mut response = app.pages.render(status, "logout.html", lang, &here, page);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    (jar, response).into_response()
}

#[derive(Serialize)]
struct Message {
    title: String,
    paragraphs: Vec<String>,
    link_href: Option<String>,
    link_label: String,
}

fn logged_out_page(app: &App, lang: Lang) -> Response {
    let text = |key| app.pages.text(lang, key);
    let page = Message {
        title: text("logged_out_title"),
        paragraphs: vec![text("logged_out_text")],
        link_href: Some(paths::LOGIN.to_owned()),
        link_label: text("login_title"),
    };
    app.pages
        .render(StatusCode::OK, "message.html", lang, paths::LOGOUT, page)
}
