//! `[tokens]` and `[sessions]` of `sesame.toml`: how long what Sésame hands
//! out stays valid, and which algorithm signs access tokens.

use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, SigningAlg, positive};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokens {
    access_token_ttl_seconds: Option<i64>,
    id_token_ttl_seconds: Option<i64>,
    access_token_alg: Option<String>,
    refresh_idle_ttl_seconds: Option<i64>,
    refresh_absolute_ttl_seconds: Option<i64>,
    jwks_max_age_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    idle_ttl_seconds: Option<i64>,
    absolute_ttl_seconds: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub access_token_alg: SigningAlg,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    /// Authorization codes: 60 s, single use (DESIGN §3).
    pub code_ttl: i64,
    /// How long a pending authorization request waits for the citizen.
    pub interaction_ttl: i64,
    /// The JWKS's cache lifetime, and so how long a rotated key is
    /// published before it signs.
    pub jwks_max_age: i64,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub idle_ttl: i64,
    pub absolute_ttl: i64,
}

pub(super) fn token_config(raw: RawTokens, file: &Path) -> Result<TokenConfig, ConfigError> {
    let access_token_alg = match raw.access_token_alg.as_deref().unwrap_or("ES256") {
        "ES256" => SigningAlg::Es256,
        "RS256" => SigningAlg::Rs256,
        other => {
            return Err(ConfigError::new(
                file,
                "tokens.access_token_alg",
                format!("`{other}` is neither ES256 nor RS256"),
            ));
        }
    };
    Ok(TokenConfig {
        access_token_ttl: positive(
            file,
            "tokens.access_token_ttl_seconds",
            raw.access_token_ttl_seconds,
            600,
        )?,
        id_token_ttl: positive(
            file,
            "tokens.id_token_ttl_seconds",
            raw.id_token_ttl_seconds,
            3600,
        )?,
        access_token_alg,
        refresh_idle_ttl: positive(
            file,
            "tokens.refresh_idle_ttl_seconds",
            raw.refresh_idle_ttl_seconds,
            30 * 86_400,
        )?,
        refresh_absolute_ttl: positive(
            file,
            "tokens.refresh_absolute_ttl_seconds",
            raw.refresh_absolute_ttl_seconds,
            180 * 86_400,
        )?,
        code_ttl: 60,
        interaction_ttl: INTERACTION_TTL,
        jwks_max_age: positive(
            file,
            "tokens.jwks_max_age_seconds",
            raw.jwks_max_age_seconds,
            crate::keys::JWKS_MAX_AGE_SECONDS,
        )?,
    })
}

/// How long a pending authorization request waits for the citizen: long
/// enough to sign up and follow the verification link (`Config` stretches
/// it when links live longer), short because anyone can create one.
const INTERACTION_TTL: i64 = 1800;

pub(super) fn session_config(raw: RawSessions, file: &Path) -> Result<SessionConfig, ConfigError> {
    Ok(SessionConfig {
        idle_ttl: positive(
            file,
            "sessions.idle_ttl_seconds",
            raw.idle_ttl_seconds,
            1800,
        )?,
        absolute_ttl: positive(
            file,
            "sessions.absolute_ttl_seconds",
            raw.absolute_ttl_seconds,
            36_000,
        )?,
    })
}
