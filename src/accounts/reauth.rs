//! Re-authentication: every sensitive action of the citizen's own space
//! (address, password, second factor, deletion) asks for the password
//! again when the sign-in is older than [`FRESH_FOR`]. Typing it again
//! makes the session's sign-in fresh (`auth_time` moves, so services that
//! ask with `max_age` see it too).

use super::password::Hasher;
use super::sessions::Session;
use crate::store::{self, Store, sessions, users};

/// How long after a sign-in sensitive actions need no password again.
pub const FRESH_FOR: i64 = 300;

/// Longest password considered (argon2 of megabytes is a denial of service).
const MAX_PASSWORD: usize = 1024;

/// Whether the session's sign-in is recent enough for a sensitive action.
pub fn is_fresh(session: &Session, now: i64) -> bool {
    now.saturating_sub(session.auth_time) <= FRESH_FOR
}

/// Whether `password` is the password of `sub` (argon2 off the executor).
pub async fn password_is_right(
    store: &Store,
    hasher: &Hasher,
    sub: &str,
    password: String,
) -> Result<bool, store::Error> {
    if password.is_empty() || password.len() > MAX_PASSWORD {
        return Ok(false);
    }
    let owner = sub.to_owned();
    let hash = store
        .run(move |tx| Ok(users::by_sub(tx, &owner)?.map(|u| u.password_hash)))
        .await?;
    Ok(hasher.verify(hash, password).await.ok)
}

/// Checks the password typed again in `session`; when right, the
/// session's sign-in becomes fresh. Returns whether it was right.
pub async fn confirm(
    store: &Store,
    hasher: &Hasher,
    session: &Session,
    password: String,
    now: i64,
) -> Result<bool, store::Error> {
    if !password_is_right(store, hasher, &session.sub, password).await? {
        return Ok(false);
    }
    let sid = session.sid.clone();
    store
        .run(move |tx| sessions::set_auth_time(tx, &sid, now))
        .await?;
    Ok(true)
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
