//! OpenID Connect Back-Channel Logout 1.0: the receiver. The provider POSTs
//! a `logout_token`; it is validated as §2.6 says — signature against the
//! provider's JWKS with an ID-token algorithm (never `none`), `iss`, `aud`,
//! `iat`, `exp`, a `sub` and/or `sid`, the back-channel `events` member, no
//! `nonce`, a `jti` never seen before — and the portal sessions of that
//! `sid` (or of that `sub`) end. Answers 200, or 400 with a JSON error
//! (§2.8), never cached.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State as PortalState, db};

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Clock skew tolerated on `iat` and `exp`.
const SKEW: i64 = 60;
/// Logout tokens older than this are refused even if `exp` is later.
const MAX_AGE: i64 = 300;

#[derive(Deserialize)]
pub struct LogoutForm {
    logout_token: Option<String>,
}

/// What a valid logout token asks.
#[derive(Debug, PartialEq)]
pub struct LogoutToken {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    pub exp: i64,
}

/// The header of a compact JWS, before its signature is checked.
pub struct Unverified<'a> {
    pub alg: CoreJwsSigningAlgorithm,
    pub kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

fn b64(part: &str) -> Result<Vec<u8>, &'static str> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| "not base64url")
}

/// Splits a compact JWS and reads its header (§2.6 steps 1 and 3).
pub fn parse(token: &str) -> Result<Unverified<'_>, &'static str> {
    if token.len() > 8 * 1024 {
        return Err("logout token too long");
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err("encrypted logout tokens are not supported"),
        _ => return Err("not a compact JWS"),
    }
    let header: Value = serde_json::from_slice(&b64(parts[0])?).map_err(|_| "bad header")?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some("ES256") => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        _ => return Err("alg must be RS256 or ES256"),
    };
    if let Some(typ) = header.get("typ") {
        let typ = typ.as_str().unwrap_or_default().to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if typ != "logout+jwt" && typ != "jwt" {
            return Err("typ is not logout+jwt");
        }
    }
    if header.get("crit").is_some() {
        return Err("crit header not understood");
    }
    let signing_input_len = parts[0].len() + 1 + parts[1].len();
    Ok(Unverified {
        alg,
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        signing_input: &token[..signing_input_len],
        signature: b64(parts[2])?,
        payload: b64(parts[1])?,
    })
}

/// Checks the signature with `keys` and the claims (§2.6 steps 2, 4–7).
pub fn validate(
    token: &Unverified<'_>,
    keys: &[CoreJsonWebKey],
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<LogoutToken, &'static str> {
    let verified = keys
        .iter()
        .filter(|k| match &token.kid {
            Some(kid) => k.key_id().map(|id| id.as_str()) == Some(kid.as_str()),
            None => true,
        })
        .any(|k| {
            k.verify_signature(&token.alg, token.signing_input.as_bytes(), &token.signature)
                .is_ok()
        });
    if !verified {
        return Err("signature does not verify with the provider's keys");
    }
    let claims: Value = serde_json::from_slice(&token.payload).map_err(|_| "bad claims")?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    if text("iss").as_deref() != Some(issuer) {
        return Err("iss is not the provider");
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err("aud is not this portal");
    }
    let iat = number("iat").ok_or("no iat")?;
    if iat > now + SKEW || iat < now - MAX_AGE {
        return Err("iat is too far from now");
    }
    let exp = number("exp").ok_or("no exp")?;
    if exp < now - SKEW {
        return Err("expired");
    }
    let (sub, sid) = (text("sub"), text("sid"));
    if sub.is_none() && sid.is_none() {
        return Err("neither sub nor sid");
    }
    let event_ok = claims
        .get("events")
        .and_then(|e| e.get(EVENT))
        .is_some_and(Value::is_object);
    if !event_ok {
        return Err("events has no back-channel logout member");
    }
    if claims.get("nonce").is_some() {
        return Err("a logout token carries no nonce");
    }
    let jti = text("jti").filter(|j| !j.is_empty() && j.len() <= 256);
    Ok(LogoutToken {
        sub,
        sid,
        jti: jti.ok_or("no jti")?,
        exp,
    })
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refuse(why: &str) -> Response {
    tracing::info!(why, "logout token refused");
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "error": "invalid_request", "error_description": why }),
    )
}

/// `POST /backchannel-logout`.
pub async fn receive(
    State(portal): State<PortalState>,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(raw) = form.ok().and_then(|f| f.0.logout_token) else {
        return refuse("logout_token is missing");
    };
    let token = match parse(&raw) {
        Ok(t) => t,
        Err(why) => return refuse(why),
    };
    let now = portal.now();
    let keys = match portal.rp.signing_keys(token.kid.as_deref(), now).await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "cannot fetch the provider's keys");
            return answer(
                StatusCode::BAD_GATEWAY,
                json!({ "error": "temporarily_unavailable" }),
            );
        }
    };
    let logout = match validate(
        &token,
        &keys,
        portal.rp.issuer(),
        portal.rp.client_id(),
        now,
    ) {
        Ok(l) => l,
        Err(why) => return refuse(why),
    };
    let result = portal
        .db
        .run(move |c| {
            let expires = logout.exp.max(now) + MAX_AGE;
            if !db::logout_jti_first_use(c, &logout.jti, expires)? {
                return Ok(None);
            }
            db::sessions_end(c, logout.sub.as_deref(), logout.sid.as_deref()).map(Some)
        })
        .await;
    match result {
        Ok(Some(ended)) => {
            tracing::info!(ended, "back-channel logout");
            answer(StatusCode::OK, json!({}))
        }
        Ok(None) => refuse("this logout token was already used"),
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout failed");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "server_error" }),
            )
        }
    }
}
