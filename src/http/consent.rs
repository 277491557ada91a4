//! « Consentement pour le site … »: what the service will see, its privacy
//! policy, **Refuser** / **Accepter** (DESIGN §1.4). Remembered per
//! (citizen, service, scopes).

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
use crate::accounts::Session;
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::authorize::AuthRequest;
use crate::oidc::params::Params;
use crate::oidc::pending;
use crate::protocol::Scope;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::CONSENT, get(show).post(submit))
}

#[derive(Serialize)]
struct ConsentPage {
    action: &'static str,
    csrf: String,
    interaction: String,
    client_name: String,
    items: Vec<String>,
    privacy_policy_url: Option<String>,
}

/// The catalogue key naming what a scope shares (`scope_email`
/// « Courriel »…), on the consent page and in the account's applications.
pub fn scope_key(scope: Scope) -> &'static str {
    match scope {
        Scope::Openid => "scope_openid",
        Scope::Email => "scope_email",
        Scope::Profile => "scope_profile",
        Scope::Roles => "scope_roles",
        Scope::Address => "scope_address",
        Scope::Phone => "scope_phone",
        Scope::OfflineAccess => "scope_offline_access",
    }
}

/// A scope's line on the consent page: `openid` shares only the
/// identifier, which needs no line of its own.
fn scope_label(scope: Scope) -> Option<&'static str> {
    (scope != Scope::Openid).then(|| scope_key(scope))
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let id = params.first("interaction").unwrap_or_default().to_owned();
    let pending = flow::load(&app, &jar, &id).await?;
    let ui_locales = pending.as_ref().and_then(|(r, _)| r.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, &headers, params.first("lang"), ui_locales.as_deref());
    let Some((req, _)) = pending else {
        return Ok((jar, flow::expired(&app, lang)).into_response());
    };
    if session::current(&app, &jar).await?.is_none() {
        return Ok((
            jar,
            flow::see_other(&format!("{}?interaction={id}", paths::LOGIN)),
        )
            .into_response());
    }
    Ok(render(&app, jar, lang, &id, &req, StatusCode::OK))
}

async fn submit(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let id = form.first("interaction").unwrap_or_default().to_owned();
    let pending = flow::load(&app, &jar, &id).await?;
    let ui_locales = pending.as_ref().and_then(|(r, _)| r.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, &headers, None, ui_locales.as_deref());
    let Some((req, login_sid)) = pending else {
        return Ok((jar, flow::expired(&app, lang)).into_response());
    };
    let Some(session) = session::current(&app, &jar).await? else {
        return Ok((
            jar,
            flow::see_other(&format!("{}?interaction={id}", paths::LOGIN)),
        )
            .into_response());
    };
    if !csrf::verify(&app, &jar, form.first(csrf::FIELD)) {
        return Ok(render(&app, jar, lang, &id, &req, StatusCode::BAD_REQUEST));
    }
    let accepted = form.first("decision") == Some("accept");
    let response = decide(&app, lang, id, req, login_sid, session, accepted).await?;
    Ok((jar, response).into_response())
}

/// Records the citizen's answer and renders where the request stands.
async fn decide(
    app: &App,
    lang: Lang,
    id: String,
    req: AuthRequest,
    login_sid: Option<String>,
    session: Session,
    accepted: bool,
) -> Result<Response, Internal> {
    let Some(client) = app.clients().shared(&req.client_id) else {
        return Ok(flow::client_gone(app, lang));
    };
    let (now, ttl) = (app.now(), flow::lifetimes(app));
    let return_to = req.return_to.clone();
    let moved = app
        .store
        .run(move |tx| {
            let login = login_sid.as_deref();
            pending::consent(tx, &client, &id, &req, &session, login, accepted, now, ttl)
        })
        .await?;
    Ok(flow::render(app, lang, &return_to, moved))
}

fn render(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    id: &str,
    req: &AuthRequest,
    status: StatusCode,
) -> Response {
    let clients = app.clients();
    let client = clients.get(&req.client_id);
    let (jar, csrf) = csrf::token(app, jar);
    let page = ConsentPage {
        action: paths::CONSENT,
        csrf,
        interaction: id.to_owned(),
        client_name: client
            .map(|c| c.name.clone())
            .unwrap_or_else(|| req.client_id.to_string()),
        items: req
            .consent_scopes
            .iter()
            .filter_map(scope_label)
            .map(|key| app.pages.text(lang, key))
            .collect(),
        privacy_policy_url: client.and_then(|c| c.privacy_policy_url.clone()),
    };
    let here = format!("{}?interaction={id}", paths::CONSENT);
    (
        jar,
        app.pages.render(status, "consent.html", lang, &here, page),
    )
        .into_response()
}
