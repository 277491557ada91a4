//! The token endpoint's rules (RFC 6749 §3.2, §4.1.3, §4.4, §6): which
//! grant type a request names, whether its client may use it, what fields
//! it carries, and the one job that redeems it.

use super::grants::{self, CodeRedemption, Issued, Signer};
use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::config::{Client, GrantType, TokenConfig};
use crate::store::{self, Tx};

/// A token request, each grant type with exactly its fields.
pub enum TokenRequest {
    AuthorizationCode(CodeRedemption),
    RefreshToken {
        token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

impl TokenRequest {
    /// Whether its job only inserts a new row and reads none: a client's
    /// own token (no code, grant or refresh token to look up).
    pub fn only_inserts(&self) -> bool {
        matches!(self, TokenRequest::ClientCredentials { .. })
    }
}

/// The `grant_type` parameter, which must be present (checked before the
/// client is authenticated).
pub fn grant_type(params: &Params) -> Result<&str, OAuthError> {
    params
        .get("grant_type")?
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))
}

impl TokenRequest {
    /// Reads the request of the authenticated `client`: an unknown grant
    /// type is `unsupported_grant_type`, one the client was not given
    /// `unauthorized_client` (RFC 6749 §5.2), then its own fields.
    pub fn parse(
        grant_type: &str,
        client: &Client,
        params: &Params,
    ) -> Result<TokenRequest, OAuthError> {
        let Some(grant) = GrantType::parse(grant_type) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "unsupported grant_type",
            ));
        };
        if !client.allows(grant) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "this client may not use this grant_type",
            ));
        }
        let owned = |name: &str| params.get(name).map(|v| v.map(str::to_owned));
        let required = |name: &str| {
            owned(name)?.ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
        };
        Ok(match grant {
            GrantType::AuthorizationCode => TokenRequest::AuthorizationCode(CodeRedemption {
                code: required("code")?,
                redirect_uri: owned("redirect_uri")?,
                code_verifier: owned("code_verifier")?,
            }),
            GrantType::RefreshToken => TokenRequest::RefreshToken {
                token: required("refresh_token")?,
                scope: owned("scope")?,
            },
            GrantType::ClientCredentials => TokenRequest::ClientCredentials {
                scope: owned("scope")?,
            },
        })
    }
}

/// Redeems `request` for `client` in one job: what it issues, or the
/// protocol's refusal (which leaves the database as it was, but for a
/// replayed code or refresh token revoking its family).
pub fn exchange(
    tx: &Tx<'_>,
    client: &Client,
    request: &TokenRequest,
    now: i64,
    cfg: &TokenConfig,
    sign: Signer<'_>,
) -> store::Result<Result<Issued, OAuthError>> {
    match request {
        TokenRequest::AuthorizationCode(redemption) => {
            grants::redeem_code(tx, redemption, client, now, cfg, sign)
        }
        TokenRequest::RefreshToken { token, scope } => {
            grants::refresh(tx, token, client, scope.as_deref(), now, cfg, sign)
        }
        TokenRequest::ClientCredentials { scope } => {
            grants::client_credentials(tx, client, scope.as_deref(), now, cfg, sign)
        }
    }
}
