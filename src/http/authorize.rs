//! The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2), GET and POST.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;

use super::client_ip::ClientIp;
use super::error::{self, Internal};
use super::{flow, forms, lang, paths, session};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::authorize::{AuthorizeError, validate};
use crate::oidc::params::Params;
use crate::oidc::tokens;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::AUTHORIZE, get(authorize_get).post(authorize_post))
}

async fn authorize_get(
    State(app): State<AppState>,
    peer: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    authorize(&app, peer, jar, &headers, params)
        .await
        .into_response()
}

async fn authorize_post(
    State(app): State<AppState>,
    peer: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize(&app, peer, jar, &headers, Params::parse(&body))
        .await
        .into_response()
}

async fn authorize(
    app: &App,
    peer: ClientIp,
    jar: CookieJar,
    headers: &HeaderMap,
    params: Params,
) -> Result<Response, Internal> {
    let clients = app.clients();
    let hint = |token: &str| tokens::id_token_subject(&app.keys, &app.config.issuer, token);
    let validated = validate(&params, &clients, &hint);
    let (jar, lang) = lang::choose(jar, headers, None, params.first("ui_locales"));
    let req = match validated {
        Ok(req) => req,
        Err(AuthorizeError::Untrusted(why)) => {
            return Ok(untrusted(app, lang, &params, &peer, why));
        }
        Err(AuthorizeError::Redirect(to, e)) => return Ok(flow::respond(app, lang, &to, Err(&e))),
    };
    let signed = session::Lookup::of(app, &jar);
    // A new pending request is written for an unauthenticated visitor: its
    // client address may open only so many, and it belongs to this browser.
    let (jar, browser) = forms::browser_cookie(jar, app.config.https());
    let response = flow::open(app, lang, req, signed, &peer.0, browser).await?;
    Ok((jar, response).into_response())
}

/// An unknown client or an unregistered redirect URI: a misconfigured
/// service, or someone fishing for an open redirect. An error page, never
/// a redirect (RFC 6749 §4.1.2.1).
fn untrusted(app: &App, lang: Lang, params: &Params, peer: &ClientIp, why: String) -> Response {
    tracing::info!(
        client = ?error::for_log(params.first("client_id")),
        address = %peer.0,
        reason = ?why,
        "authorization request rejected"
    );
    error::page(
        app,
        lang,
        StatusCode::BAD_REQUEST,
        "authorize_error_title",
        "authorize_error_text",
        Some(why),
    )
}
