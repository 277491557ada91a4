//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; OIDC Core §3.1.3).
//! JSON answers with `Cache-Control: no-store`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::client_ip::ClientIp;
use super::error::{JsonError, no_store};
use super::paths;
use crate::app::{App, AppState};
use crate::config::Client;
use crate::oidc::grants::{AccessToken, Grant};
use crate::oidc::params::Params;
use crate::oidc::token::{self, TokenRequest};
use crate::oidc::{OAuthError, client_auth, tokens};
use crate::store::Tx;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::TOKEN, post(token))
}

async fn token(
    State(app): State<AppState>,
    peer: ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match readable(body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    match exchange(&app, &headers, &body).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(e) => {
            refused(&headers, &body, &peer, &e);
            e.into_response()
        }
    }
}

/// The body, or — over the body limit, or cut off — an OAuth error like
/// any other rather than axum's text/plain 413 that a client library
/// cannot read (token, revocation and introspection endpoints).
pub fn readable(body: Result<Bytes, BytesRejection>) -> Result<Bytes, JsonError> {
    body.map_err(|_| {
        JsonError(OAuthError::invalid_request(
            "the request body is too large or unreadable",
        ))
    })
}

/// A refused token request (a replayed code among them), for the
/// operator: the client it claims to be, the address and the error —
/// never the code, the token or the secret it carried.
fn refused(headers: &HeaderMap, body: &[u8], peer: &ClientIp, e: &JsonError) {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let client = client_auth::claimed_id(authorization, &Params::parse(body));
    tracing::info!(
        client = ?super::error::for_log(client.as_deref()),
        address = %peer.0,
        error = e.0.code.as_str(),
        description = ?e.0.description,
        "token request refused"
    );
}

/// The body of a form POST, or `invalid_request` for anything else.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(body);
    if let Some(name) = params.repeated() {
        return Err(OAuthError::invalid_request(format!(
            "the {name} parameter is repeated"
        )));
    }
    Ok(params)
}

/// The client a request to the token, revocation or introspection
/// endpoint authenticates as (RFC 6749 §2.3).
pub fn authenticated_client(
    app: &App,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Arc<Client>, OAuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let clients = app.clients();
    let id = &client_auth::authenticate(&clients, authorization, params)?.id;
    clients.shared(id).ok_or_else(OAuthError::server_error)
}

async fn exchange(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<tokens::TokenResponse, JsonError> {
    let params = form_params(headers, body)?;
    let grant_type = token::grant_type(&params)?;
    let grant_name = grant_type.to_owned();
    let client = authenticated_client(app, headers, &params)?;
    let request = TokenRequest::parse(grant_type, &client, &params)?;
    let (now, cfg) = (app.now(), app.config.tokens.clone());
    let (job_app, job_client) = (Arc::clone(app), Arc::clone(&client));
    let only_inserts = request.only_inserts();
    let job = move |tx: &Tx<'_>| {
        let sign = |grant: &Grant, access: &AccessToken| sign_access(&job_app, grant, access, now);
        token::exchange(tx, &job_client, &request, now, &cfg, &sign)
    };
    let issued = if only_inserts {
        app.store.insert(job).await
    } else {
        app.store.run_read_first(job).await
    }??;
    let (keys, issuer) = (&app.keys, &app.config.issuer);
    let answer = tokens::mint(keys, issuer, &app.config.tokens, &client, issued, now)?;
    crate::metrics::token_issued(grant_name, &client.id);
    Ok(answer)
}

/// The RFC 9068 access token for `access`, signed with the prepared key.
fn sign_access(app: &App, grant: &Grant, access: &AccessToken, now: i64) -> Option<String> {
    let (keys, issuer, cfg) = (&app.keys, &app.config.issuer, &app.config.tokens);
    tokens::sign_access(keys, issuer, cfg, grant, access, now)
        .map_err(|e| tracing::error!(error = %e, "signing an access token failed"))
        .ok()
}
