//! What the UserInfo endpoint releases (OIDC Core §5.3): the citizen of an
//! active access token, and the claims its scopes, the `claims` request
//! and the client's own scopes allow.

use serde_json::{Map, Value};

use super::scopes::{ClaimsRequest, user_claims};
use super::tokens::PresentedAccess;
use crate::config::Clients;
use crate::protocol::Scope;
use crate::store::grants::{self, AccessToken};
use crate::store::users::User;
use crate::store::{self, Tx};

/// An active citizen token, with its `claims` request and its citizen.
pub struct Holder {
    token: AccessToken,
    claims_request: Option<String>,
    user: User,
}

/// The citizen of `presented` if the token is active (recorded, not
/// revoked, unexpired at `now`); `None` too for a client's own token.
pub fn holder(tx: &Tx<'_>, presented: &PresentedAccess, now: i64) -> store::Result<Option<Holder>> {
    let (jti, digest) = (&presented.claims.jti, &presented.digest);
    let holder = grants::active_access_token_holder(tx, jti, digest, now)?;
    Ok(holder.and_then(|(token, claims_request, user)| {
        user.map(|user| Holder {
            token,
            claims_request,
            user,
        })
    }))
}

/// The claims released to `holder`'s token: none without `openid`; else
/// those its scopes and `claims` request ask for, within the scopes its
/// client is allowed.
pub fn released(holder: &Holder, clients: &Clients) -> Option<Map<String, Value>> {
    let scopes = holder.token.scopes;
    if !scopes.contains(Scope::Openid) {
        return None;
    }
    let requested = ClaimsRequest::from_stored(holder.claims_request.as_deref());
    let allowed = clients
        .get(&holder.token.client_id)
        .map(|c| c.scopes)
        .unwrap_or_default();
    Some(user_claims(
        &holder.user,
        scopes,
        &requested.userinfo,
        allowed,
    ))
}
