//! What tokens say: ID tokens (OIDC Core §2, §3.1.3.6), JWT access tokens
//! (RFC 9068) and the checks made when they come back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::SigningAlg;
use crate::keys::{KeyError, KeyRing};
use crate::protocol::{Scope, Scopes};

/// The audience of Sésame's access tokens: the resource they are for is
/// Sésame's own userinfo endpoint, so the issuer identifies it (RFC 9068 §3).
fn access_token_audience(issuer: &str) -> String {
    issuer.to_owned()
}

/// The contents of an access token.
struct AccessTokenSpec<'a> {
    pub jti: &'a str,
    /// The citizen, or the client itself for `client_credentials`.
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub auth_time: Option<i64>,
    pub sid: Option<&'a str>,
    pub iat: i64,
    pub exp: i64,
}

/// An access token's claims as serialised (RFC 9068 §2.2), written
/// straight from borrowed fields.
#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    scope: &'a str,
    jti: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

fn sign_access_token(
    keys: &KeyRing,
    alg: SigningAlg,
    issuer: &str,
    t: &AccessTokenSpec<'_>,
) -> Result<String, KeyError> {
    let audience = access_token_audience(issuer);
    let claims = AccessTokenClaims {
        iss: issuer,
        sub: t.sub,
        aud: &audience,
        client_id: t.client_id,
        scope: t.scope,
        jti: t.jti,
        iat: t.iat,
        exp: t.exp,
        auth_time: t.auth_time,
        sid: t.sid,
    };
    let payload = serde_json::to_vec(&claims).map_err(|e| KeyError::Sign(e.to_string()))?;
    keys.sign(alg, "at+jwt", &payload)
}

/// The contents of an ID token.
struct IdTokenSpec<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub sid: Option<&'a str>,
    pub access_token: Option<&'a str>,
    /// Claims asked for in the ID token with the `claims` parameter.
    pub extra: Map<String, Value>,
    pub iat: i64,
    pub exp: i64,
}

fn sign_id_token(
    keys: &KeyRing,
    alg: SigningAlg,
    issuer: &str,
    t: IdTokenSpec<'_>,
) -> Result<String, KeyError> {
    let mut claims = t.extra;
    let fixed = json!({
        "iss": issuer,
        "sub": t.sub,
        "aud": t.client_id,
        "azp": t.client_id,
        "iat": t.iat,
        "exp": t.exp,
        "auth_time": t.auth_time,
    });
    if let Value::Object(fixed) = fixed {
        claims.extend(fixed);
    }
    // OIDC Core §2: `amr` is optional; a sign-in that proved no method
    // RFC 8176 names (an email link) carries none rather than a false one.
    if !t.amr.is_empty() {
        claims.insert("amr".into(), json!(t.amr));
    }
    // The level reached, read from the methods (`otp`: multi-factor).
    claims.insert("acr".into(), json!(super::acr::of(t.amr)));
    if let Some(nonce) = t.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = t.sid {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(at) = t.access_token {
        claims.insert("at_hash".into(), json!(at_hash(at)));
    }
    keys.sign(alg, "JWT", Value::Object(claims).to_string().as_bytes())
}

/// OIDC Core §3.1.3.6: the left half of SHA-256 of the access token (both
/// RS256 and ES256 use SHA-256), base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = crate::secrets::sha256(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The claims an access token carries.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default)]
    pub aud: Value,
}

/// An access token as presented to userinfo, introspection or revocation:
/// its claims, read without checking the signature, and its SHA-256. It is
/// honoured only once the store finds the row recorded under its `jti` with
/// this digest, i.e. for exactly the string Sésame issued (a hash lookup
/// instead of an ECDSA verification per request).
#[derive(Debug, Clone)]
pub struct PresentedAccess {
    pub claims: AccessClaims,
    pub digest: String,
}

/// Reads an access token of this issuer, unexpired at `now`; `None` for
/// anything that cannot be one.
pub fn presented_access(issuer: &str, token: &str, now: i64) -> Option<PresentedAccess> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let claims: AccessClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.iss == issuer && claims.exp > now).then(|| PresentedAccess {
        claims,
        digest: crate::secrets::digest(token),
    })
}

/// The `sub` of an ID token Sésame issued (for `id_token_hint`; an expired
/// one is still a valid hint).
pub fn id_token_subject(keys: &KeyRing, issuer: &str, token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Hint {
        iss: String,
        sub: String,
    }
    let (payload, typ) = keys.verify(token)?;
    if typ.as_deref().is_some_and(|t| t != "JWT") {
        return None;
    }
    let hint: Hint = serde_json::from_slice(&payload).ok()?;
    (hint.iss == issuer).then_some(hint.sub)
}

/// What an `id_token_hint` says (RP-Initiated Logout 1.0 §2): an ID token
/// Sésame issued, checked by signature and issuer but not expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    /// The client the ID token was issued to (`aud`).
    pub client_id: String,
    pub sid: Option<String>,
}

pub fn id_token_hint(keys: &KeyRing, issuer: &str, token: &str) -> Option<IdTokenHint> {
    #[derive(Deserialize)]
    struct Hint {
        iss: String,
        sub: String,
        aud: Value,
        sid: Option<String>,
    }
    let (payload, typ) = keys.verify(token)?;
    if typ.as_deref().is_some_and(|t| t != "JWT") {
        return None;
    }
    let hint: Hint = serde_json::from_slice(&payload).ok()?;
    let client_id = match hint.aud {
        Value::String(aud) => aud,
        Value::Array(mut auds) if auds.len() == 1 => auds.pop()?.as_str()?.to_owned(),
        _ => return None,
    };
    (hint.iss == issuer).then_some(IdTokenHint {
        sub: hint.sub,
        client_id,
        sid: hint.sid,
    })
}

/// A token presented to the revocation or introspection endpoint, told
/// apart by its form (so `token_type_hint` is never needed, RFC 7009 §2.1):
/// access tokens are JWTs we signed, refresh tokens 43-character randoms.
#[derive(Debug, Clone)]
pub enum Presented {
    /// What may be an unexpired access token of ours: the store decides.
    Access(Box<PresentedAccess>),
    /// The digest of what may be a refresh token.
    Refresh(String),
    /// Not a token Sésame could have issued, or an expired access token.
    Unknown,
}

pub fn classify(issuer: &str, token: &str, now: i64) -> Presented {
    if token.contains('.') {
        match presented_access(issuer, token, now) {
            Some(access) => Presented::Access(Box::new(access)),
            None => Presented::Unknown,
        }
    } else if token.len() == crate::secrets::TOKEN_LEN {
        Presented::Refresh(crate::secrets::digest(token))
    } else {
        Presented::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_oidc_example() {
        // OIDC Core appendix A.3 example token and at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn access_tokens_are_read_by_issuer_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::load_or_create(dir.path(), 0).unwrap();
        let spec = AccessTokenSpec {
            jti: "j",
            sub: "s",
            client_id: "c",
            scope: "openid",
            auth_time: Some(5),
            sid: None,
            iat: 10,
            exp: 100,
        };
        let token = sign_access_token(&keys, SigningAlg::Es256, "https://id", &spec).unwrap();
        let presented = presented_access("https://id", &token, 99).unwrap();
        assert_eq!(presented.claims.jti, "j");
        assert_eq!(presented.digest, crate::secrets::digest(&token));
        assert!(
            presented_access("https://id", &token, 100).is_none(),
            "expired"
        );
        assert!(
            presented_access("https://other", &token, 50).is_none(),
            "issuer"
        );
        let id_token = sign_id_token(
            &keys,
            SigningAlg::Rs256,
            "https://id",
            IdTokenSpec {
                sub: "s",
                client_id: "c",
                nonce: None,
                auth_time: 1,
                amr: &[],
                sid: None,
                access_token: None,
                extra: Map::new(),
                iat: 1,
                exp: 2,
            },
        )
        .unwrap();
        assert!(
            presented_access("https://id", &id_token, 1).is_none(),
            "an ID token is no access token"
        );
        for junk in ["a.b.c", "..", "a.e30.c.d", "a.!!!.c", ""] {
            assert!(presented_access("https://id", junk, 1).is_none(), "{junk}");
        }
        assert_eq!(
            id_token_subject(&keys, "https://id", &id_token).as_deref(),
            Some("s")
        );
        assert!(id_token_subject(&keys, "https://id", &token).is_none());
        let hint = id_token_hint(&keys, "https://id", &id_token).unwrap();
        assert_eq!((hint.sub.as_str(), hint.client_id.as_str()), ("s", "c"));
        assert!(id_token_hint(&keys, "https://other", &id_token).is_none());
        assert!(id_token_hint(&keys, "https://id", &token).is_none());
        assert!(matches!(
            classify("https://id", &token, 99),
            Presented::Access(a) if a.claims.jti == "j"
        ));
        assert!(matches!(
            classify("https://id", &token, 100),
            Presented::Unknown
        ));
        assert!(matches!(
            classify("https://id", &id_token, 1),
            Presented::Unknown
        ));
        assert!(matches!(
            classify("https://id", &crate::secrets::token(), 1),
            Presented::Refresh(_)
        ));
        assert!(matches!(
            classify("https://id", "short", 1),
            Presented::Unknown
        ));
    }
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// Empty for a `client_credentials` token asked without scope.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Signs the access token a grant produced (RFC 9068).
pub fn sign_access(
    keys: &KeyRing,
    issuer: &str,
    cfg: &crate::config::TokenConfig,
    grant: &crate::store::grants::Grant,
    access: &crate::store::grants::AccessToken,
    now: i64,
) -> Result<String, KeyError> {
    let scope = access.scopes.to_string();
    sign_access_token(
        keys,
        cfg.access_token_alg,
        issuer,
        &AccessTokenSpec {
            jti: &access.jti,
            sub: grant.sub.as_deref().unwrap_or(&grant.client_id),
            client_id: &grant.client_id,
            scope: &scope,
            auth_time: grant.auth_time,
            sid: grant.sid.as_deref(),
            iat: now,
            exp: access.expires_at,
        },
    )
}

/// The token response for what a grant produced, its access token signed
/// ([`sign_access`]) and recorded: adds the ID token for a citizen's grant
/// that includes `openid`.
pub fn mint(
    keys: &KeyRing,
    issuer: &str,
    cfg: &crate::config::TokenConfig,
    client: &crate::config::Client,
    issued: super::grants::Issued,
    now: i64,
) -> Result<TokenResponse, KeyError> {
    let access_token = issued.access_token;
    let grant = &issued.grant;
    let access = &issued.access;
    let id_token = match &issued.user {
        Some(user) if access.scopes.contains(Scope::Openid) => {
            let requested = super::scopes::ClaimsRequest::from_stored(grant.claims.as_deref());
            let mut extra =
                super::scopes::user_claims(user, Scopes::EMPTY, &requested.id_token, client.scopes);
            extra.remove("sub");
            let amr: Vec<String> = grant
                .amr
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            Some(sign_id_token(
                keys,
                client.id_token_alg,
                issuer,
                IdTokenSpec {
                    sub: &user.sub,
                    client_id: &client.id,
                    nonce: issued.nonce.as_deref(),
                    auth_time: grant.auth_time.unwrap_or(now),
                    amr: &amr,
                    sid: grant.sid.as_deref(),
                    access_token: Some(&access_token),
                    extra,
                    iat: now,
                    exp: now + cfg.id_token_ttl,
                },
            )?)
        }
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: access.expires_at - now,
        scope: access.scopes.to_string(),
        id_token,
        refresh_token: issued.refresh_token,
    })
}
