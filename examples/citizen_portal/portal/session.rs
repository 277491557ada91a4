//! Browser sessions of the portal: a random cookie, its SHA-256 digest as
//! the key of a server-side row holding the pending sign-in (state, nonce,
//! PKCE verifier), then the identity and tokens. Nothing else rides in the
//! cookie. The row carries `sub` and `sid` so that a back-channel logout
//! can end it.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::Result;
use super::rp::{Identity, PendingLogin};
use super::{Portal, db};

pub const COOKIE: &str = "espace_citoyens";
/// A sign-in must come back from the provider within this time.
pub const PENDING_TTL: i64 = 15 * 60;
/// An authenticated portal session lasts at most this long.
pub const SESSION_TTL: i64 = 8 * 3600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    /// The CSRF token of this session's forms.
    pub csrf: String,
    pub pending: Option<PendingLogin>,
    pub identity: Option<Identity>,
    /// The portal account linked to `identity.sub`, once known.
    pub account_id: Option<i64>,
}

pub struct Session {
    digest: String,
    pub data: SessionData,
}

/// A new random value (256 bits, base64url).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// The session of this browser, if any and not expired.
pub async fn current(portal: &Portal, jar: &CookieJar) -> Result<Option<Session>> {
    let Some(value) = jar.get(COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    if value.len() > 128 {
        return Ok(None);
    }
    let digest = digest(&value);
    let now = portal.now();
    let key = digest.clone();
    let Some(json) = portal
        .db
        .run(move |c| db::session_get(c, &key, now))
        .await?
    else {
        return Ok(None);
    };
    // A row we cannot read (older format) is no session.
    Ok(serde_json::from_str(&json)
        .ok()
        .map(|data| Session { digest, data }))
}

/// Starts a new session (a fresh cookie: no fixation across sign-ins).
pub async fn create(
    portal: &Portal,
    jar: CookieJar,
    data: SessionData,
    ttl: i64,
) -> Result<(CookieJar, Session)> {
    let value = random_token();
    let session = Session {
        digest: digest(&value),
        data: SessionData {
            csrf: random_token(),
            ..data
        },
    };
    save(portal, &session, ttl).await?;
    let cookie = Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(portal.config.public_url.starts_with("https://"))
        .same_site(SameSite::Lax)
        .build();
    Ok((jar.add(cookie), session))
}

pub async fn save(portal: &Portal, session: &Session, ttl: i64) -> Result<()> {
    let json = serde_json::to_string(&session.data).map_err(|e| e.to_string())?;
    let digest = session.digest.clone();
    let sub = session.data.identity.as_ref().map(|i| i.sub.clone());
    let sid = session.data.identity.as_ref().and_then(|i| i.sid.clone());
    let expires_at = portal.now() + ttl;
    portal
        .db
        .run(move |c| {
            db::session_put(
                c,
                &digest,
                sub.as_deref(),
                sid.as_deref(),
                expires_at,
                &json,
            )
        })
        .await?;
    Ok(())
}

/// Ends the session server-side and removes the cookie.
pub async fn destroy(portal: &Portal, jar: CookieJar, session: &Session) -> Result<CookieJar> {
    let digest = session.digest.clone();
    portal
        .db
        .run(move |c| db::session_delete(c, &digest))
        .await?;
    Ok(jar.remove(Cookie::build(COOKIE).path("/").build()))
}

impl Session {
    /// Whether `submitted` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        !self.data.csrf.is_empty()
            && bool::from(self.data.csrf.as_bytes().ct_eq(submitted.as_bytes()))
    }
}
