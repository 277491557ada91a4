//! Token introspection (RFC 7662). Only confidential clients may ask
//! (§2.1 requires the caller to be authorized; a public client proves
//! nothing), and a client sees only tokens issued to itself: any other
//! token — unknown, expired, revoked, rotated, or another client's — is
//! exactly `{"active": false}` (§2.2), so the endpoint is no oracle.
//!
//! Resource servers need no introspection: access tokens are RFC 9068 JWTs
//! they verify against the JWKS.

use crate::store::Tx;
use serde::Serialize;
use serde_json::Value;

use super::tokens::Presented;
use super::{ErrorCode, OAuthError};
use crate::config::Client;
use crate::store::grants as store;

/// The introspection response (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Value>,
    /// `Bearer` for access tokens (RFC 6749 §5.1 types); absent for
    /// refresh tokens, which have no such type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

impl Introspection {
    pub fn inactive() -> Introspection {
        Introspection {
            active: false,
            scope: None,
            client_id: None,
            sub: None,
            exp: None,
            iat: None,
            iss: None,
            aud: None,
            token_type: None,
        }
    }
}

/// Whether `client` may call the introspection endpoint at all.
pub fn may_introspect(client: &Client) -> Result<(), OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "public clients cannot use introspection",
        ));
    }
    Ok(())
}

/// What `client` may learn about `token` at `now`.
pub fn introspect(
    tx: &Tx<'_>,
    token: &Presented,
    client: &Client,
    issuer: &str,
    now: i64,
) -> crate::store::Result<Introspection> {
    match token {
        Presented::Unknown => Ok(Introspection::inactive()),
        Presented::Access(access) => {
            let claims = &access.claims;
            let Some((row, _)) = store::active_access_token(tx, &claims.jti, &access.digest, now)?
            else {
                return Ok(Introspection::inactive());
            };
            if row.client_id != client.id {
                return Ok(Introspection::inactive());
            }
            Ok(Introspection {
                active: true,
                scope: Some(row.scopes.to_string()),
                client_id: Some(row.client_id.to_string()),
                sub: Some(claims.sub.clone()),
                exp: Some(row.expires_at),
                iat: Some(claims.iat),
                iss: Some(claims.iss.clone()),
                aud: Some(claims.aud.clone()),
                token_type: Some("Bearer"),
            })
        }
        Presented::Refresh(digest) => {
            let Some((stored, grant)) = store::refresh_token_and_grant(tx, digest)? else {
                return Ok(Introspection::inactive());
            };
            let exp = grant
                .expires_at
                .map_or(stored.expires_at, |end| end.min(stored.expires_at));
            let active = stored.rotated_at.is_none()
                && grant.revoked_at.is_none()
                && exp > now
                && grant.client_id == client.id;
            if !active {
                return Ok(Introspection::inactive());
            }
            Ok(Introspection {
                active: true,
                scope: Some(grant.scopes.to_string()),
                client_id: Some(grant.client_id.to_string()),
                sub: grant.sub,
                exp: Some(exp),
                iat: Some(stored.created_at),
                iss: Some(issuer.to_owned()),
                aud: None,
                token_type: None,
            })
        }
    }
}
