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
use crate::config::Client;
use crate::config::GrantType;
use crate::oidc::grants::{self, CodeRedemption, Issued};
use crate::oidc::params::Params;
use crate::oidc::{ErrorCode, OAuthError, client_auth, tokens};
use crate::secrets;
use crate::store::grants as store_grants;

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
) -> Result<crate::config::Client, OAuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(client_auth::authenticate(&app.clients(), authorization, params)?.clone())
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
    let issued = match grant {
        GrantType::AuthorizationCode => {
            let redemption = CodeRedemption {
                code: owned("code")?
                    .ok_or_else(|| OAuthError::invalid_request("code is missing"))?,
                redirect_uri: owned("redirect_uri")?,
                code_verifier: owned("code_verifier")?,
            };
            let (client, app) = (client.clone(), app.clone());
            app.store
                .clone()
                .run(move |conn| {
                    let issued = grants::redeem_code(conn, &redemption, &client, now, &cfg)?;
                    signed(conn, &app, &client, issued, now)
                })
                .await?
        }
        GrantType::RefreshToken => {
            let token = owned("refresh_token")?
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
            let scope = owned("scope")?;
            let (client, app) = (client.clone(), app.clone());
            app.store
                .clone()
                .run(move |conn| {
                    let issued =
                        grants::refresh(conn, &token, &client, scope.as_deref(), now, &cfg)?;
                    signed(conn, &app, &client, issued, now)
                })
                .await?
        }
        GrantType::ClientCredentials => {
            let scope = owned("scope")?;
            let (client, app) = (client.clone(), app.clone());
            app.store
                .clone()
                .run(move |conn| {
                    let issued =
                        grants::client_credentials(conn, &client, scope.as_deref(), now, &cfg)?;
                    signed(conn, &app, &client, issued, now)
                })
                .await?
        }
    }?;
    let (issued, access_token) = issued;
    Ok(tokens::mint(
        &app.keys,
        &app.config.issuer,
        &app.config.tokens,
        &client,
        issued,
        access_token,
        now,
    )?)
}

/// Signs the access token inside the job that issued it and records its
/// digest in the same transaction, so userinfo can recognise it by one
/// lookup from its very first use.
fn signed(
    conn: &rusqlite::Connection,
    app: &App,
    client: &Client,
    issued: Result<Issued, OAuthError>,
    now: i64,
) -> rusqlite::Result<Result<(Issued, String), OAuthError>> {
    let issued = match issued {
        Ok(issued) => issued,
        Err(e) => return Ok(Err(e)),
    };
    let token = match tokens::sign_access(
        &app.keys,
        &app.config.issuer,
        &app.config.tokens,
        client,
        &issued,
        now,
    ) {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "signing an access token failed");
            return Ok(Err(OAuthError::server_error()));
        }
    };
    store_grants::set_access_token_digest(conn, &issued.access.jti, &secrets::digest(&token))?;
    Ok(Ok((issued, token)))
}
