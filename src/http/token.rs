//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; OIDC Core §3.1.3).
//! JSON answers with `Cache-Control: no-store`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::error::{JsonError, no_store};
use super::paths;
use crate::app::{App, AppState};
use crate::config::{Client, GrantType};
use crate::oidc::grants::{self, CodeRedemption};
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError, client_auth, tokens};
use crate::store::grants::{AccessToken, Grant};
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::TOKEN, post(token))
}

async fn token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&app, &headers, &body).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(e) => e.into_response(),
    }
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
    let grant_type = params
        .get("grant_type")?
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    let client = authenticated_client(app, headers, &params)?;
    let grant = match grant_type {
        "authorization_code" => GrantType::AuthorizationCode,
        "refresh_token" => GrantType::RefreshToken,
        "client_credentials" => GrantType::ClientCredentials,
        _ => {
            return Err(
                OAuthError::new(ErrorCode::UnsupportedGrantType, "unsupported grant_type").into(),
            );
        }
    };
    if !client.allows(grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use this grant_type",
        )
        .into());
    }
    let (now, cfg) = (app.now(), app.config.tokens.clone());
    let owned = |name: &str| params.get(name).map(|v| v.map(str::to_owned));
    let job_app = app.clone();
    let sign = move |grant: &Grant, access: &AccessToken| {
        let app = &job_app;
        tokens::sign_access(
            &app.keys,
            &app.config.issuer,
            &app.config.tokens,
            grant,
            access,
            now,
        )
        .map_err(|e| tracing::error!(error = %e, "signing an access token failed"))
        .ok()
    };
    let job_client = Arc::clone(&client);
    let issued = match grant {
        GrantType::AuthorizationCode => {
            let redemption = CodeRedemption {
                code: owned("code")?
                    .ok_or_else(|| OAuthError::invalid_request("code is missing"))?,
                redirect_uri: owned("redirect_uri")?,
                code_verifier: owned("code_verifier")?,
            };
            app.store
                .run(move |conn| {
                    grants::redeem_code(conn, &redemption, &job_client, now, &cfg, &sign)
                })
                .await?
        }
        GrantType::RefreshToken => {
            let token = owned("refresh_token")?
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
            let scope = owned("scope")?;
            app.store
                .run(move |conn| {
                    let scope = scope.as_deref();
                    grants::refresh(conn, &token, &job_client, scope, now, &cfg, &sign)
                })
                .await?
        }
        GrantType::ClientCredentials => {
            let scope = owned("scope")?;
            app.store
                .run(move |conn| {
                    let scope = scope.as_deref();
                    grants::client_credentials(conn, &job_client, scope, now, &cfg, &sign)
                })
                .await?
        }
    }?;
    Ok(tokens::mint(
        &app.keys,
        &app.config.issuer,
        &app.config.tokens,
        &client,
        issued,
        now,
    )?)
}
