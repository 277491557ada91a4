//! OpenID Connect Discovery 1.0, prepared once at start, and the JWKS,
//! serialised once per key reload (SIGHUP). Everything advertised here
//! works; a test follows every URL.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

use super::paths;
use crate::config::{Config, GrantType};
use crate::keys::KeyRing;
use crate::oidc::scopes::{supported_claims, supported_scopes};

/// The discovery document, serialised once at start, and the key ring
/// whose JWKS is served as it stands.
#[derive(Clone)]
pub struct Prepared {
    discovery: Bytes,
    keys: Arc<KeyRing>,
    /// `Cache-Control` of both documents (`tokens.jwks_max_age_seconds`):
    /// a rotated key is published this long before it signs.
    cache_control: HeaderValue,
}

impl Prepared {
    pub fn new(config: &Config, keys: Arc<KeyRing>) -> Prepared {
        let cache_control = format!("public, max-age={}", config.tokens.jwks_max_age);
        Prepared {
            discovery: Bytes::from(document(config).to_string()),
            keys,
            cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or(HeaderValue::from_static("public, max-age=300")),
        }
    }
}

/// The two routes, with what they serve.
pub fn router<S>(prepared: Prepared) -> Router<S> {
    Router::new()
        .route(paths::DISCOVERY, get(discovery))
        .route(paths::JWKS, get(jwks))
        .with_state(prepared)
}

/// The discovery document for `config`.
pub fn document(config: &Config) -> Value {
    let url = |path: &str| format!("{}{path}", config.issuer);
    json!({
        "issuer": config.issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "userinfo_endpoint": url(paths::USERINFO),
        "jwks_uri": url(paths::JWKS),
        "revocation_endpoint": url(paths::REVOKE),
        "introspection_endpoint": url(paths::INTROSPECT),
        "end_session_endpoint": url(paths::LOGOUT),
        "scopes_supported": supported_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        "subject_types_supported": ["public"],
        "acr_values_supported": crate::oidc::acr::SUPPORTED,
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        // Public clients cannot introspect (docs/tokens-and-logout.md).
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": supported_claims(),
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "display_values_supported": ["page"],
        "claim_types_supported": ["normal"],
        "ui_locales_supported": ["fr", "en"],
        "claims_locales_supported": ["fr", "en"],
        "service_documentation": url("/"),
    })
}

fn json_response(body: Bytes, cache_control: HeaderValue) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, cache_control),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn discovery(State(prepared): State<Prepared>) -> Response {
    json_response(prepared.discovery, prepared.cache_control)
}

async fn jwks(State(prepared): State<Prepared>) -> Response {
    let body = Bytes::from_owner(prepared.keys.jwks_json());
    json_response(body, prepared.cache_control)
}
