//! The UserInfo endpoint (OIDC Core §5.3), GET and POST, with the bearer
//! token in the header or, for POST, the form body (RFC 6750 §2.1–2.2).
//! Only the claims of granted scopes (and individually requested claims)
//! are returned.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value};

use super::error::Internal;
use super::paths;
use crate::app::{App, AppState};
use crate::oidc::{params::Params, tokens, userinfo};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::USERINFO, get(userinfo).post(userinfo))
}

/// RFC 6750 §3: the challenge for a missing or bad token.
fn unauthorized(error: Option<(&str, &str)>) -> Response {
    let challenge = match error {
        Some((code, description)) => format!(
            "Bearer realm=\"sesame\", error=\"{code}\", error_description=\"{description}\""
        ),
        None => "Bearer realm=\"sesame\"".to_owned(),
    };
    let status = match error {
        Some(("invalid_request", _)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What is wrong with a request's bearer token (RFC 6750 §3.1), `None`
/// when there is none at all.
type BearerProblem = Option<(&'static str, &'static str)>;

/// The bearer token of the request. A token in the URL (RFC 6750 §2.3) is
/// not accepted — URLs end up in logs — but counts as a place: the same
/// token sent in two places is refused (§2).
fn bearer(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<String, BearerProblem> {
    let in_query =
        query.is_some_and(|q| Params::parse(q.as_bytes()).first("access_token").is_some());
    let from_header = in_header(headers)?;
    let from_body = in_body(method, headers, body)?;
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(Some(("invalid_request", "send the token only once"))),
        (Some(_), None) | (None, Some(_)) if in_query => {
            Err(Some(("invalid_request", "send the token only once")))
        }
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) if in_query => Err(Some((
            "invalid_request",
            "send the token in the Authorization header, not in the URL",
        ))),
        (None, None) => Err(None),
    }
}

/// The token of an `Authorization: Bearer` header, if any.
fn in_header(headers: &HeaderMap) -> Result<Option<String>, BearerProblem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    match value.to_str().unwrap_or_default().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(Some(("invalid_request", "use the Bearer scheme"))),
    }
}

/// The `access_token` field of a POSTed form body, if any.
fn in_body(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<String>, BearerProblem> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if method != Method::POST || !is_form {
        return Ok(None);
    }
    let params = Params::parse(body);
    let token = params
        .get("access_token")
        .map_err(|_| Some(("invalid_request", "access_token is repeated")))?;
    Ok(token.map(str::to_owned))
}

async fn userinfo(
    State(app): State<AppState>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match bearer(&method, &headers, uri.query(), &body) {
        Ok(t) => t,
        Err(problem) => return unauthorized(problem),
    };
    match claims(&app, &token).await {
        Ok(Some(claims)) => {
            let headers = [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                ),
            ];
            (headers, Json(Value::Object(claims))).into_response()
        }
        Ok(None) => unauthorized(Some((
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ))),
        Err(e) => e.into_response(),
    }
}

/// The claims an active citizen token may see; `None` when the token is
/// not active (bad signature, expired, revoked, or a client's own token).
async fn claims(app: &App, token: &str) -> Result<Option<Map<String, Value>>, Internal> {
    let now = app.now();
    let Some(presented) = tokens::presented_access(&app.config.issuer, token, now) else {
        return Ok(None);
    };
    let holder = app
        .store
        .read(move |tx| userinfo::holder(tx, &presented, now))
        .await?;
    Ok(holder.and_then(|holder| userinfo::released(&holder, &app.clients())))
}
