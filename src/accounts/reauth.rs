//! Re-authentication: every sensitive action of the citizen's own space
//! (address, password, second factor, deletion) asks for the password
//! again when the sign-in is older than [`FRESH_FOR`]. Typing it again
//! makes the session's sign-in fresh (`auth_time` moves, so services that
//! ask with `max_age` see it too). Every password typed again goes
//! through the sign-in throttle ([`check_password`]).

use super::password::Hasher;
use super::sessions::Session;
use super::{audit, throttle};
use crate::config::LoginLimits;
use crate::store::{self, Store, Tx, sessions, users};

/// How long after a sign-in sensitive actions need no password again.
const FRESH_FOR: i64 = 300;

/// Longest password considered (argon2 of megabytes is a denial of service).
const MAX_PASSWORD: usize = 1024;

/// Whether the session's sign-in is recent enough for a sensitive action.
pub fn is_fresh(session: &Session, now: i64) -> bool {
    now.saturating_sub(session.auth_time) <= FRESH_FOR
}

/// Where a password typed again comes from and the limits it is held to:
/// the sign-in limits, so that a stolen session cannot be used to guess
/// the password here either.
#[derive(Clone)]
pub struct Attempt {
    pub limits: LoginLimits,
    /// The client address and user agent (the address is counted like a
    /// sign-in's).
    pub origin: audit::Origin,
}

/// What a password typed again comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reentered {
    Right,
    Wrong,
    /// Too many recent failures for this account (sign-ins and passwords
    /// typed again together) or from this client address: the password
    /// was not looked at.
    Throttled {
        retry_after: i64,
    },
}

/// Checks that `password` is the password of `sub`, under the sign-in
/// throttle: the same counters as a sign-in with the citizen's address
/// (so the pages that ask for the password again add no guesses to the
/// sign-in form's), the attempt counted before argon2 runs and forgiven
/// when right, a throttled attempt refused without argon2. A failure is
/// recorded in the audit trail like a failed sign-in.
pub async fn check_password(
    store: &Store,
    hasher: &Hasher,
    sub: &str,
    password: String,
    attempt: &Attempt,
    now: i64,
) -> Result<Reentered, store::Error> {
    if password.is_empty() || password.len() > MAX_PASSWORD {
        return Ok(Reentered::Wrong);
    }
    let (owner, begun) = (sub.to_owned(), attempt.clone());
    let begin = store.run(move |tx| begin(tx, &owner, &begun, now)).await?;
    let (hash, keys) = match begin {
        Err(retry_after) => {
            tracing::info!(retry_after, "password typed again: throttled");
            return Ok(Reentered::Throttled { retry_after });
        }
        Ok(Some(counted)) => (Some(counted.hash), Some(counted.keys)),
        Ok(None) => (None, None),
    };
    let right = hasher.verify(hash, password).await.ok && keys.is_some();
    let (owner, origin) = (sub.to_owned(), attempt.origin.clone());
    store
        .run(move |tx| {
            match (&keys, right) {
                (Some(keys), true) => {
                    throttle::clear(tx, &keys.0)?;
                    throttle::forgive(tx, &keys.1)?;
                }
                _ => {
                    let kind = audit::Kind::SignInFailed;
                    let detail = Some(TYPED_AGAIN);
                    audit::record(tx, kind, Some(&owner), None, &origin, detail, now)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(if right {
        Reentered::Right
    } else {
        Reentered::Wrong
    })
}

/// The audit trail's detail of a failure on a page that asked again.
const TYPED_AGAIN: &str = "password typed again";

/// The citizen's hash, and the counters this attempt touches (account,
/// client address).
struct Counted {
    hash: String,
    keys: (String, String),
}

/// Counts the attempt as a failure until argon2 proves it right; the
/// seconds to wait when either counter is blocked. `None`: no such citizen
/// (a session outliving its account), nothing counted.
fn begin(
    tx: &Tx<'_>,
    sub: &str,
    attempt: &Attempt,
    now: i64,
) -> store::Result<Result<Option<Counted>, i64>> {
    let Some(user) = users::by_sub(tx, sub)? else {
        return Ok(Ok(None));
    };
    let client = attempt.origin.address.as_deref().unwrap_or("unknown");
    let account = throttle::account_key(&user.email);
    let client = throttle::client_key(&throttle::requester(client));
    let waits = [
        throttle::blocked(tx, &account, now)?,
        throttle::blocked(tx, &client, now)?,
    ];
    if let Some(wait) = waits.into_iter().flatten().max() {
        let kind = audit::Kind::SignInThrottled;
        let detail = Some(TYPED_AGAIN);
        audit::record(tx, kind, Some(sub), None, &attempt.origin, detail, now)?;
        return Ok(Err(wait));
    }
    throttle::fail(tx, &account, &attempt.limits.account, now)?;
    throttle::fail(tx, &client, &attempt.limits.client, now)?;
    Ok(Ok(Some(Counted {
        hash: user.password_hash,
        keys: (account, client),
    })))
}

/// Checks the password typed again in `session`; when right, the
/// session's sign-in becomes fresh.
pub async fn confirm(
    store: &Store,
    hasher: &Hasher,
    session: &Session,
    password: String,
    attempt: &Attempt,
    now: i64,
) -> Result<Reentered, store::Error> {
    let outcome = check_password(store, hasher, &session.sub, password, attempt, now).await?;
    if outcome == Reentered::Right {
        let sid = session.sid.clone();
        store
            .run(move |tx| sessions::set_auth_time(tx, &sid, now))
            .await?;
    }
    Ok(outcome)
}

/// Where a re-authentication may send the citizen back to: a page of the
/// account space only (never another site).
pub fn safe_return(target: &str, account_root: &str) -> bool {
    (target == account_root || target.starts_with(&format!("{account_root}/")))
        && !target.contains("//")
        && !target.contains('\\')
        && target.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_for_five_minutes() {
        let s = Session {
            sid: "s".into(),
            sub: "u".into(),
            auth_time: 1000,
            amr: vec![],
            acr: None,
            idle_expires_at: 0,
            expires_at: 0,
        };
        assert!(is_fresh(&s, 1300));
        assert!(!is_fresh(&s, 1301));
    }

    #[test]
    fn returns_only_inside_the_account() {
        assert!(safe_return("/account/security", "/account"));
        assert!(safe_return("/account", "/account"));
        assert!(!safe_return("/accountant", "/account"));
        assert!(!safe_return("https://evil.example/account", "/account"));
        assert!(!safe_return("/account//evil.example", "/account"));
        assert!(!safe_return("/login", "/account"));
    }
}
