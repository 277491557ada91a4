//! The introspection endpoint (RFC 7662 §2): client-authenticated POST of
//! `token`; 401 with `WWW-Authenticate` without valid client
//! authentication; `{"active": false}` for anything the caller may not see.
//! Rules in `oidc::introspection`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::error::{JsonError, no_store};
use super::paths;
use super::token::{authenticated_client, form_params, readable};
use crate::app::{App, AppState};
use crate::oidc::OAuthError;
use crate::oidc::introspection::{self, Introspection};
use crate::oidc::tokens::{self, Presented};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::INTROSPECT, post(introspect))
}

async fn introspect(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match readable(body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    match run(&app, &headers, &body).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Introspection, JsonError> {
    let params = form_params(headers, body)?;
    let client = authenticated_client(app, headers, &params)?;
    introspection::may_introspect(&client)?;
    let token = params
        .get("token")?
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    params.get("token_type_hint")?;
    let now = app.now();
    let presented = tokens::classify(&app.config.issuer, token, now);
    if matches!(presented, Presented::Unknown) {
        return Ok(Introspection::inactive());
    }
    let issuer = app.config.issuer.clone();
    Ok(app
        .store
        .read(move |conn| introspection::introspect(conn, &presented, &client, &issuer, now))
        .await?)
}
