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
//!
//! Every attempt is recorded in the audit trail under the citizen when the
//! address is known: a throttled one in the job that refuses it, a right
//! password in the job that forgives it, a wrong one in a job of its own
//! after argon2 (the only added round trip, on a path argon2 dominates).

use super::User;
use super::audit::{self, Kind};
use super::password::Hasher;
use super::signup::sign_in_candidates;
use super::throttle;
use super::users::Email;
use crate::config::LoginLimits;
use crate::store::signups::Signup;
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
    /// Not the account's password (if there is one), but the one of the
    /// newest sign-up still waiting for its link for this address (its
    /// id): « vérifiez votre courriel », whether or not an account exists,
    /// so that signing up then signing in tells nothing. Counted as a
    /// failure, like any attempt that opens no account.
    PendingSignup(String),
    /// The password is right but the city's staff disabled the account:
    /// saying so does not help a guesser, who had to know the password.
    Disabled,
    /// Signed in as this citizen (a hash with outdated parameters has
    /// been replaced).
    Accepted(User),
}

/// Where an attempt comes from and the limits it is held to.
pub struct Origin<'a> {
    /// The client address, as the HTTP layer gives it.
    pub client: &'a str,
    pub limits: LoginLimits,
    /// The address and user agent, for the audit trail.
    pub audit: audit::Origin,
    /// The service whose sign-in page it was, if any.
    pub service: Option<String>,
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
    let trail = Trail {
        origin: origin.audit,
        service: origin.service,
    };
    let seen = trail.clone();
    let (user, signup) = match store
        .run(move |tx| begin(tx, &begun, &limits, &seen, now))
        .await?
    {
        Ok(found) => found,
        Err(retry_after) => {
            tracing::info!(retry_after, "sign-in throttled");
            return Ok(Login::Throttled { retry_after });
        }
    };
    let checked = hasher
        .verify(
            user.as_ref().map(|u| u.password_hash.clone()),
            password.clone(),
        )
        .await;
    let known = user.as_ref().map(|u| u.sub.clone());
    let Some(user) = user.filter(|_| checked.ok) else {
        // Counted already, in `begin`; recorded under the citizen when the
        // address is known, so the help desk sees failures on the account.
        let sub = known;
        store
            .run(move |tx| trail.record(tx, Kind::SignInFailed, sub.as_deref(), None, now))
            .await?;
        // The same second check whether the address has an account or not.
        let Some(signup) = signup else {
            return Ok(Login::Refused);
        };
        let pending = hasher.verify(Some(signup.password_hash), password).await;
        return Ok(if pending.ok {
            Login::PendingSignup(signup.id)
        } else {
            Login::Refused
        });
    };
    let (sub, rehash) = (user.sub.clone(), checked.rehash);
    let outcome = if user.disabled_at.is_some() {
        Login::Disabled
    } else if user.email_verified {
        Login::Accepted(user)
    } else {
        Login::Unverified(user)
    };
    let (kind, detail) = match outcome {
        Login::Accepted(_) => (Kind::SignInSucceeded, None),
        Login::Disabled => (Kind::SignInDisabled, None),
        _ => (Kind::SignInFailed, Some("address not verified")),
    };
    // Only a sign-in that goes through replaces an outdated or imported hash.
    let rehash = rehash.filter(|_| kind == Kind::SignInSucceeded);
    store
        .run(move |tx| {
            throttle::clear(tx, &keys.account)?;
            throttle::forgive(tx, &keys.client)?;
            if let Some(hash) = rehash {
                users::set_password_hash(tx, &sub, &hash, now)?;
            }
            trail.record(tx, kind, Some(&sub), detail, now)
        })
        .await?;
    Ok(outcome)
}

/// What the audit trail records of an attempt besides its outcome.
#[derive(Clone)]
struct Trail {
    origin: audit::Origin,
    service: Option<String>,
}

impl Trail {
    fn record(
        &self,
        tx: &Tx<'_>,
        kind: Kind,
        sub: Option<&str>,
        detail: Option<&str>,
        now: i64,
    ) -> store::Result<()> {
        let service = self.service.as_deref();
        audit::record(tx, kind, sub, service, &self.origin, detail, now)
    }
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
/// The account of the address typed and its newest pending sign-up.
type Candidates = (Option<User>, Option<Signup>);

/// citizen to check it against.
fn begin(
    tx: &Tx<'_>,
    keys: &Keys,
    limits: &LoginLimits,
    trail: &Trail,
    now: i64,
) -> store::Result<Result<Candidates, i64>> {
    let waits = [
        throttle::blocked(tx, &keys.account, now)?,
        throttle::blocked(tx, &keys.client, now)?,
    ];
    if let Some(wait) = waits.into_iter().flatten().max() {
        let sub = users::by_email(tx, &keys.email)?.map(|u| u.sub);
        trail.record(tx, Kind::SignInThrottled, sub.as_deref(), None, now)?;
        return Ok(Err(wait));
    }
    throttle::fail(tx, &keys.account, &limits.account, now)?;
    throttle::fail(tx, &keys.client, &limits.client, now)?;
    Ok(Ok(sign_in_candidates(tx, &keys.email)?))
}
