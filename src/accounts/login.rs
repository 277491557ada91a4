//! A password sign-in: the one entry point that checks an address and a
//! password (argon2id through the [`Hasher`], the same work and the same
//! answer for an unknown address as for a wrong password) and answers one
//! outcome. Throttling plugs in here.

use super::User;
use super::password::Hasher;
use super::users::Email;
use crate::store::{self, Store, users};

/// Longest password considered (argon2 of megabytes is a denial of service).
const MAX_PASSWORD: usize = 1024;

/// What a sign-in attempt comes to.
#[derive(Debug)]
pub enum Login {
    /// Wrong address or password, or a form that cannot be either: the
    /// citizen sees one message for all.
    Refused,
    /// The password is right but the address is not verified yet.
    Unverified(User),
    /// Signed in as this citizen (a hash with outdated parameters has
    /// been replaced).
    Accepted(User),
}

/// Checks `email` and `password`; rehashes an outdated hash on success.
pub async fn login(
    store: &Store,
    hasher: &Hasher,
    email: &str,
    password: String,
    now: i64,
) -> Result<Login, store::Error> {
    let Some(email) =
        Email::parse(email).filter(|_| !password.is_empty() && password.len() <= MAX_PASSWORD)
    else {
        return Ok(Login::Refused);
    };
    let lookup = email.as_str().to_owned();
    let user = store.run(move |tx| users::by_email(tx, &lookup)).await?;
    let checked = hasher
        .verify(user.as_ref().map(|u| u.password_hash.clone()), password)
        .await;
    let Some(user) = user.filter(|_| checked.ok) else {
        return Ok(Login::Refused);
    };
    if !user.email_verified {
        return Ok(Login::Unverified(user));
    }
    if let Some(hash) = checked.rehash {
        let sub = user.sub.clone();
        store
            .run(move |tx| users::set_password_hash(tx, &sub, &hash, now))
            .await?;
    }
    Ok(Login::Accepted(user))
}
