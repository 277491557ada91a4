//! Grants: codes (RFC 6749 §4.1, single use, 60 s, bound to client,
//! redirect URI, PKCE and nonce) and what redeeming one produces. Each
//! function runs inside one SQLite transaction, so a refused request leaves
//! the database as it was, and a replayed code revokes what the first
//! redemption produced (RFC 6749 §4.1.2, RFC 9700 §4.14).

use crate::store::Tx;

use super::authorize::AuthRequest;
use super::{OAuthError, pkce};
use crate::config::{Client, GrantType, TokenConfig};
use crate::protocol::{Scope, Scopes};
use crate::secrets;
use crate::store::grants::{self as store, Code};
pub use crate::store::grants::{AccessToken, Grant};
use crate::store::sessions::Session;
use crate::store::users::User;

/// Stores a new code for `req`, signed in as `session`; returns the code.
pub fn issue_code(
    tx: &Tx<'_>,
    req: &AuthRequest,
    session: &Session,
    now: i64,
    ttl: i64,
) -> crate::store::Result<String> {
    let (key, code) = secrets::keyed_token();
    let row = Code {
        client_id: req.client_id.clone(),
        sub: session.sub.clone(),
        redirect_uri: req.return_to.redirect_uri.clone(),
        scopes: req.scopes,
        claims: req.claims.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        sid: session.sid.clone(),
        auth_time: session.auth_time,
        amr: session.amr.join(" "),
        expires_at: now + ttl,
        used_at: None,
        grant_id: None,
    };
    store::insert_code(tx, &key, &secrets::digest(&code), &row)?;
    Ok(code)
}

/// Turns the record of a new access token into the token handed out: the
/// RFC 9068 JWT in service (`None` if signing failed), any string in tests.
/// The grant records the SHA-256 of what it returns, by which the token is
/// recognised when presented.
pub type Signer<'a> = &'a dyn Fn(&Grant, &AccessToken) -> Option<String>;

/// Stands in for the JWT signer in unit tests: any string will do as the
/// token handed out.
#[cfg(test)]
pub(crate) fn unsigned(_: &Grant, access: &AccessToken) -> Option<String> {
    Some(format!("token-{}", access.jti))
}

/// What the token endpoint sends back, but the ID token.
#[derive(Debug)]
pub struct Issued {
    pub grant: Grant,
    pub access: AccessToken,
    /// The access token as handed out.
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub nonce: Option<String>,
    pub user: Option<User>,
}

/// The parameters of an `authorization_code` token request.
pub struct CodeRedemption {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

/// Redeems a code for `client`. The outer `Result` is the database's; the
/// inner one the protocol's answer.
pub fn redeem_code(
    tx: &Tx<'_>,
    r: &CodeRedemption,
    client: &Client,
    now: i64,
    cfg: &TokenConfig,
    sign: Signer<'_>,
) -> crate::store::Result<Result<Issued, OAuthError>> {
    let Some(key) = secrets::token_key(&r.code) else {
        return Ok(Err(OAuthError::invalid_grant("the code is invalid")));
    };
    let tx = tx.savepoint()?;
    let Some((code, user)) = store::find_code_and_user(&tx, key, &secrets::digest(&r.code))? else {
        return Ok(Err(OAuthError::invalid_grant("the code is invalid")));
    };
    if code.client_id != client.id {
        return Ok(Err(OAuthError::invalid_grant("the code is invalid")));
    }
    if code.used_at.is_some() {
        // A replay: someone holds a copy. Kill what the first use produced.
        if let Some(grant_id) = &code.grant_id {
            store::revoke_grant(&tx, grant_id, now)?;
        }
        tx.commit()?;
        return Ok(Err(OAuthError::invalid_grant("the code was already used")));
    }
    if let Err(e) = check_code(&code, r, now) {
        return Ok(Err(e));
    }
    let Some(user) = user else {
        return Ok(Err(OAuthError::invalid_grant(
            "the account no longer exists",
        )));
    };
    let with_refresh =
        client.allows(GrantType::RefreshToken) && code.scopes.contains(Scope::OfflineAccess);
    let grant = Grant {
        id: secrets::ordered_id(),
        sub: Some(code.sub.clone()),
        client_id: client.id.clone(),
        scopes: code.scopes,
        claims: code.claims.clone(),
        sid: Some(code.sid.clone()),
        auth_time: Some(code.auth_time),
        amr: Some(code.amr.clone()),
        created_at: now,
        expires_at: with_refresh.then_some(now + cfg.refresh_absolute_ttl),
        revoked_at: None,
    };
    store::mark_code_used(&tx, key, &grant.id, now)?;
    store::insert_grant(&tx, &grant)?;
    let Some((access, access_token)) =
        new_access_token(&tx, &grant, Some(&grant.id), now, cfg, sign)?
    else {
        return Ok(Err(OAuthError::server_error()));
    };
    let refresh_token = if with_refresh {
        Some(new_refresh_token(&tx, &grant.id, now, cfg)?)
    } else {
        None
    };
    tx.commit()?;
    Ok(Ok(Issued {
        grant,
        access,
        access_token,
        refresh_token,
        nonce: code.nonce,
        user: Some(user),
    }))
}

fn check_code(code: &Code, r: &CodeRedemption, now: i64) -> Result<(), OAuthError> {
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if r.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, &r.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => Ok(()),
        (Some(_), _) => Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was",
        )),
        (None, None) => Ok(()),
    }
}

/// Signs and records a new access token of `grant` (`grant_id` none for a
/// client's own token); `None` if signing failed.
fn new_access_token(
    tx: &Tx<'_>,
    grant: &Grant,
    grant_id: Option<&str>,
    now: i64,
    cfg: &TokenConfig,
    sign: Signer<'_>,
) -> crate::store::Result<Option<(AccessToken, String)>> {
    let access = AccessToken {
        jti: secrets::ordered_id(),
        grant_id: grant_id.map(str::to_owned),
        client_id: grant.client_id.clone(),
        sub: grant.sub.clone(),
        scopes: grant.scopes,
        expires_at: now + cfg.access_token_ttl,
    };
    let Some(token) = sign(grant, &access) else {
        return Ok(None);
    };
    store::insert_access_token(tx, &access, &secrets::digest(&token))?;
    Ok(Some((access, token)))
}

fn new_refresh_token(
    tx: &Tx<'_>,
    grant_id: &str,
    now: i64,
    cfg: &TokenConfig,
) -> crate::store::Result<String> {
    let token = secrets::token();
    crate::store::grants::insert_refresh_token(
        tx,
        &secrets::digest(&token),
        grant_id,
        now,
        now + cfg.refresh_idle_ttl,
    )?;
    Ok(token)
}

/// Redeems a refresh token (RFC 6749 §6): rotation on every use; a rotated
/// token presented again revokes the whole family (RFC 9700 §4.14.2).
pub fn refresh(
    tx: &Tx<'_>,
    token: &str,
    client: &Client,
    scope: Option<&str>,
    now: i64,
    cfg: &TokenConfig,
    sign: Signer<'_>,
) -> crate::store::Result<Result<Issued, OAuthError>> {
    let digest = secrets::digest(token);
    let tx = tx.savepoint()?;
    let invalid = || {
        Ok(Err(OAuthError::invalid_grant(
            "the refresh token is invalid or expired",
        )))
    };
    let Some((stored, grant, user)) = store::refresh_token_grant_and_user(&tx, &digest)? else {
        return invalid();
    };
    if grant.client_id != client.id {
        return invalid();
    }
    if stored.rotated_at.is_some() {
        if grant.revoked_at.is_none() {
            tracing::warn!(client = %client.id, "rotated refresh token reused: revoking its family");
            store::revoke_grant(&tx, &grant.id, now)?;
            tx.commit()?;
        }
        return invalid();
    }
    if grant.revoked_at.is_some()
        || stored.expires_at <= now
        || grant.expires_at.is_some_and(|end| end <= now)
    {
        return invalid();
    }
    let scopes = match scope.map(Scopes::parse) {
        None => grant.scopes,
        Some(Ok(asked)) if asked.is_subset(grant.scopes) => asked,
        Some(_) => {
            return Ok(Err(OAuthError::new(
                super::ErrorCode::InvalidScope,
                "the requested scope exceeds what was granted",
            )));
        }
    };
    let Some(user) = user else {
        return invalid();
    };
    if !store::rotate_refresh_token(&tx, &digest, now)? {
        return invalid();
    }
    let narrowed = Grant {
        scopes,
        ..grant.clone()
    };
    let Some((access, access_token)) =
        new_access_token(&tx, &narrowed, Some(&grant.id), now, cfg, sign)?
    else {
        return Ok(Err(OAuthError::server_error()));
    };
    let refresh_token = Some(new_refresh_token(&tx, &grant.id, now, cfg)?);
    tx.commit()?;
    Ok(Ok(Issued {
        grant: narrowed,
        access,
        access_token,
        refresh_token,
        nonce: None,
        user: Some(user),
    }))
}

/// The `client_credentials` grant (RFC 6749 §4.4): a token for the client
/// itself, limited to its allowed scopes; no citizen, so no `openid` and
/// no `offline_access`.
pub fn client_credentials(
    tx: &Tx<'_>,
    client: &Client,
    scope: Option<&str>,
    now: i64,
    cfg: &TokenConfig,
    sign: Signer<'_>,
) -> crate::store::Result<Result<Issued, OAuthError>> {
    // No citizen, so neither `openid` nor `offline_access`.
    let grantable =
        |s: Scope| client.scopes.contains(s) && s != Scope::Openid && s != Scope::OfflineAccess;
    let scopes = match Scopes::parse(scope.unwrap_or_default()) {
        Ok(scopes) => match scopes.iter().find(|s| !grantable(*s)) {
            None => scopes,
            Some(refused) => return Ok(Err(cannot_be_granted(refused.as_str()))),
        },
        Err(unknown) => return Ok(Err(cannot_be_granted(&unknown.0))),
    };
    let grant = Grant {
        id: secrets::ordered_id(),
        sub: None,
        client_id: client.id.clone(),
        scopes,
        claims: None,
        sid: None,
        auth_time: None,
        amr: None,
        created_at: now,
        expires_at: None,
        revoked_at: None,
    };
    // No grant row: nothing but the token itself can be revoked.
    let Some((access, access_token)) = new_access_token(tx, &grant, None, now, cfg, sign)? else {
        return Ok(Err(OAuthError::server_error()));
    };
    Ok(Ok(Issued {
        grant,
        access,
        access_token,
        refresh_token: None,
        nonce: None,
        user: None,
    }))
}

fn cannot_be_granted(scope: &str) -> OAuthError {
    OAuthError::new(
        super::ErrorCode::InvalidScope,
        format!("scope {scope} cannot be granted to a client"),
    )
}

#[cfg(test)]
mod tests;
