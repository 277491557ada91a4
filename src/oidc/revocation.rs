//! Token revocation (RFC 7009). A client revokes only tokens issued to it
//! (§2.1: another client's token is refused with `invalid_grant`, the
//! RFC 6749 §5.2 code for a grant "issued to another client"); an unknown,
//! expired or already revoked token is answered 200 (§2.2).
//!
//! Revoking a refresh token revokes its whole grant: every refresh token
//! of the family and every access token it produced (§2.1 "SHOULD").
//! Revoking an access token revokes that token only.

use crate::store::Tx;

use super::OAuthError;
use super::tokens::Presented;
use crate::config::Client;
use crate::store::grants as store;

fn not_yours() -> OAuthError {
    OAuthError::invalid_grant("the token was issued to another client")
}

/// Revokes `token` for `client`, in one transaction.
pub fn revoke(
    tx: &Tx<'_>,
    token: &Presented,
    client: &Client,
    now: i64,
) -> crate::store::Result<Result<(), OAuthError>> {
    let tx = tx.savepoint()?;
    match token {
        Presented::Unknown => return Ok(Ok(())),
        Presented::Access(access) => {
            let jti = &access.claims.jti;
            let Some(owner) = store::access_token_client(&tx, jti, &access.digest)? else {
                return Ok(Ok(()));
            };
            if owner != *client.id {
                return Ok(Err(not_yours()));
            }
            store::revoke_access_token(&tx, jti, now)?;
        }
        Presented::Refresh(digest) => {
            let Some((_, grant)) = store::refresh_token_and_grant(&tx, digest)? else {
                return Ok(Ok(()));
            };
            if grant.client_id != client.id {
                return Ok(Err(not_yours()));
            }
            store::revoke_grant(&tx, &grant.id, now)?;
            // A refresh family ended by its service: the citizen sees it
            // in their activity (an access token's revocation is routine).
            crate::accounts::audit::record(
                &tx,
                crate::accounts::audit::Kind::TokensRevoked,
                grant.sub.as_deref(),
                Some(&client.id),
                &crate::accounts::audit::Origin::default(),
                Some("refresh token revoked by the service"),
                now,
            )?;
        }
    }
    tx.commit()?;
    Ok(Ok(()))
}
