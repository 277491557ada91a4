//! Errors at the HTTP boundary. Browser flows get an HTML page; the token,
//! userinfo, introspection and revocation endpoints get OAuth JSON. Internal
//! details go to the log under a reference, never into a response.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::pages::Render;
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::{ErrorCode, OAuthError};
use crate::store;

#[derive(Serialize)]
struct ErrorPage {
    title: String,
    message: String,
    detail: Option<String>,
    reference: Option<String>,
}

/// An HTML error page with a 4xx status.
pub fn page(
    app: &App,
    lang: Lang,
    status: StatusCode,
    title: &'static str,
    text: &'static str,
    detail: Option<String>,
) -> Response {
    let pages = &app.pages;
    let body = ErrorPage {
        title: pages.text(lang, title),
        message: pages.text(lang, text),
        detail,
        reference: None,
    };
    pages.render(status, "error.html", lang, "/", body)
}

/// A failure of ours (database, signing…): logged with a reference that
/// the citizen can quote; the response says nothing else.
#[derive(Debug)]
pub struct Internal(pub String);

impl From<store::Error> for Internal {
    fn from(e: store::Error) -> Self {
        Internal(e.to_string())
    }
}

impl From<crate::keys::KeyError> for Internal {
    fn from(e: crate::keys::KeyError) -> Self {
        Internal(e.to_string())
    }
}

impl IntoResponse for Internal {
    fn into_response(self) -> Response {
        let reference = crate::secrets::random_b64(6);
        tracing::error!(%reference, error = %self.0, "internal error");
        let html = format!(
            "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Erreur — Espace Citoyens</title>\
             <main><h1>Une erreur est survenue</h1><p>Le service a rencontré un problème. Merci de réessayer dans quelques instants.</p>\
             <p lang=\"en\">Something went wrong. Please try again in a few moments.</p>\
             <p>Référence / reference : <code>{reference}</code></p></main></html>"
        );
        (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
    }
}

/// An OAuth error answered as JSON (RFC 6749 §5.2).
#[derive(Debug)]
pub struct JsonError(pub OAuthError);

impl From<OAuthError> for JsonError {
    fn from(e: OAuthError) -> Self {
        JsonError(e)
    }
}

impl From<store::Error> for JsonError {
    fn from(e: store::Error) -> Self {
        tracing::error!(error = %e, "database failure at a JSON endpoint");
        JsonError(OAuthError::server_error())
    }
}

impl From<crate::keys::KeyError> for JsonError {
    fn from(e: crate::keys::KeyError) -> Self {
        tracing::error!(error = %e, "signing failure");
        JsonError(OAuthError::server_error())
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let status = match self.0.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut headers = no_store();
        if self.0.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sesame\""),
            );
        }
        let body = ErrorBody {
            error: self.0.code.as_str(),
            error_description: &self.0.description,
        };
        (status, headers, Json(body)).into_response()
    }
}

/// `Cache-Control: no-store` (RFC 6749 §5.1), for token responses and errors.
pub fn no_store() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers
}

/// 404 for any unknown path, as a page.
pub async fn not_found(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let (_, lang) = super::lang::choose(jar, &headers, None, None);
    page(
        &app,
        lang,
        StatusCode::NOT_FOUND,
        "not_found_title",
        "not_found_text",
        None,
    )
}

/// Text from a request (a client id) as a log field: at most 64
/// characters, `-` when absent; logged with `?` so control characters are
/// escaped.
pub fn for_log(value: Option<&str>) -> &str {
    match value {
        Some(v) => v.char_indices().nth(64).map_or(v, |(i, _)| &v[..i]),
        None => "-",
    }
}
