//! The revocation endpoint (RFC 7009 §2): client-authenticated POST of
//! `token` (and an optional `token_type_hint`, not needed: tokens are told
//! apart by their form). 200 with an empty body when done or when the
//! token is unknown; OAuth JSON errors otherwise. Rules in
//! `oidc::revocation`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::error::{JsonError, no_store};
use super::paths;
use super::token::{authenticated_client, form_params, readable};
use crate::app::{App, AppState};
use crate::oidc::{OAuthError, revocation, tokens};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::REVOKE, post(revoke))
}

async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match readable(body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    match run(&app, &headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), JsonError> {
    let params = form_params(headers, body)?;
    let client = authenticated_client(app, headers, &params)?;
    let token = params
        .get("token")?
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    params.get("token_type_hint")?;
    let now = app.now();
    let presented = tokens::classify(&app.config.issuer, token, now);
    app.store
        .run(move |conn| revocation::revoke(conn, &presented, &client, now))
        .await??;
    Ok(())
}
