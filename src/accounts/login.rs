//! A password sign-in: the one entry point that checks an address and a
//! password (argon2id through the [`Hasher`], the same work and the same
//! answer for an unknown address as for a wrong password) and answers one
//! outcome.
//!
//! Throttled: the check of the throttle and the count of the attempt share
//! the job that looks the citizen up, and the attempt is counted *before*
//! argon2 runs (then forgiven if it was right), so concurrent guesses
//! cannot all slip through before the first one is counted; an attempt
//! refused by the throttle runs no argon2 at all.

use super::User;
use super::password::Hasher;
use super::throttle;
use super::users::Email;
use crate::config::LoginLimits;
use crate::store::{self, Store, Tx, users};

/// Longest password considered (argon2 of megabytes is a denial of service).
const MAX_PASSWORD: usize = 1024;

/// What a sign-in attempt comes to.
#[derive(Debug)]
pub enum Login {
    /// Wrong address or password, or a form that cannot be either: the
    /// citizen sees one message for all.
    Refused,
    /// Too many recent failures for this address or from this client
    /// address: try again in this many seconds. The password was not
    /// looked at.
    Throttled { retry_after: i64 },
    /// The password is right but the address is not verified yet.
    Unverified(User),
    /// Signed in as this citizen (a hash with outdated parameters has
    /// been replaced).
    Accepted(User),
}

/// Where an attempt comes from and the limits it is held to.
pub struct Origin<'a> {
    /// The client address, as the HTTP layer gives it.
    pub client: &'a str,
    pub limits: LoginLimits,
}

/// Checks `email` and `password` from `origin`; rehashes an outdated hash
/// on success.
pub async fn login(
    store: &Store,
    hasher: &Hasher,
    email: &str,
    password: String,
    origin: Origin<'_>,
    now: i64,
) -> Result<Login, store::Error> {
    let Some(email) =
        Email::parse(email).filter(|_| !password.is_empty() && password.len() <= MAX_PASSWORD)
    else {
        return Ok(Login::Refused);
    };
    let keys = Keys::of(&email, origin.client);
    let begun = keys.clone();
    let limits = origin.limits;
    let user = match store.run(move |tx| begin(tx, &begun, &limits, now)).await? {
        Ok(user) => user,
        Err(retry_after) => {
            tracing::info!(retry_after, "sign-in throttled");
            return Ok(Login::Throttled { retry_after });
        }
    };
    let checked = hasher
        .verify(user.as_ref().map(|u| u.password_hash.clone()), password)
        .await;
    let Some(user) = user.filter(|_| checked.ok) else {
        // Counted already, in `begin`.
        return Ok(Login::Refused);
    };
    let (sub, rehash) = (user.sub.clone(), checked.rehash);
    store
        .run(move |tx| {
            throttle::clear(tx, &keys.account)?;
            throttle::forgive(tx, &keys.client)?;
            match rehash {
                Some(hash) => users::set_password_hash(tx, &sub, &hash, now),
                None => Ok(()),
            }
        })
        .await?;
    Ok(if user.email_verified {
        Login::Accepted(user)
    } else {
        Login::Unverified(user)
    })
}

/// The address typed and the counters an attempt touches.
#[derive(Clone)]
struct Keys {
    email: String,
    account: String,
    client: String,
}

impl Keys {
    fn of(email: &Email, client: &str) -> Keys {
        Keys {
            email: email.as_str().to_owned(),
            account: throttle::account_key(email.as_str()),
            client: throttle::client_key(&throttle::requester(client)),
        }
    }
}

/// Refuses a throttled attempt (the longer of the two waits); otherwise
/// counts it as a failure until its check proves it right, and returns the
/// citizen to check it against.
fn begin(
    tx: &Tx<'_>,
    keys: &Keys,
    limits: &LoginLimits,
    now: i64,
) -> store::Result<Result<Option<User>, i64>> {
    let waits = [
        throttle::blocked(tx, &keys.account, now)?,
        throttle::blocked(tx, &keys.client, now)?,
    ];
    if let Some(wait) = waits.into_iter().flatten().max() {
        return Ok(Err(wait));
    }
    throttle::fail(tx, &keys.account, &limits.account, now)?;
    throttle::fail(tx, &keys.client, &limits.client, now)?;
    Ok(Ok(users::by_email(tx, &keys.email)?))
}
