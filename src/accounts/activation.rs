//! Opening an activation link (DESIGN §1.2) so that only the mailbox owner
//! ends up holding the account's password.
//!
//! Opening the link (a GET, which mail scanners also do) changes nothing:
//! [`open`] only says what the link is. Activation is a POST ([`activate`])
//! with a proof that the visitor may set the account's password:
//! - in the browser that signed up (its cookie digest is stored with the
//!   link), that browser typed the password: nothing more is asked;
//! - elsewhere, the visitor gives the password chosen at sign-up, or
//!   chooses a new one — then whoever signed up with this address without
//!   owning the mailbox never holds a valid password.
//!
//! A pending request continues only for whoever is shown to have started
//! it: that browser, or the one who gives the sign-up password (the request
//! is then handed over to the visitor's browser). A visitor who chose a new
//! password is signed in but continues nobody's request.

use super::links::{self, Holder, LinkState, Purpose};
use crate::store::email_tokens::{self, EmailToken};
use crate::store::users::User;
use crate::store::{Tx, interactions, signups, users};

/// What a valid activation link would activate (nothing is changed).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub row: EmailToken,
    pub email: String,
    /// The hash the sign-up password is checked against.
    pub password_hash: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    /// Opened in the browser that asked for the link.
    pub same_browser: bool,
}

/// What a presented activation link is.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    Valid(Box<Target>),
    /// Used before, or its address has an account now: sign in.
    Already(EmailToken),
    /// Expired, replaced or unknown: the page offers a fresh link.
    Invalid(LinkState),
}

/// How the visitor shows they may set the account's password.
#[derive(Debug, Clone, PartialEq)]
pub enum Proof {
    /// This is the browser that asked for the link.
    Browser,
    /// The visitor gave the sign-up password; the caller checked it
    /// against this hash (from [`open`]).
    Password { checked_hash: String },
    /// The visitor chose a new password (its hash).
    NewPassword { hash: String },
}

/// The outcome of [`activate`].
#[derive(Debug, Clone, PartialEq)]
pub enum Activated {
    /// The account is active; sign `sub` in with `amr` and continue
    /// `resume` (already bound to the visitor's browser) if there is one.
    Done {
        sub: String,
        amr: Vec<String>,
        resume: Option<String>,
    },
    Already(EmailToken),
    Invalid(LinkState),
    /// The proof does not hold (another browser, a password changed
    /// meanwhile): nothing was changed.
    Refused,
}

/// What `token` would activate, seen from the browser whose cookie digest
/// is `browser` (nothing is changed).
pub fn open(
    tx: &Tx<'_>,
    token: &str,
    browser: Option<&str>,
    now: i64,
) -> crate::store::Result<Opened> {
    let row = match links::inspect(tx, token, Purpose::Verify, now)? {
        LinkState::Valid(row) => row,
        LinkState::Used(row) => return already_or(tx, row, LinkState::Used),
        other => return Ok(Opened::Invalid(other)),
    };
    let same_browser = links::same_digest(row.browser.as_deref(), browser);
    let target = match Holder::of(&row) {
        Some(Holder::Signup(id)) => match signups::get(tx, &id)? {
            Some(s) if users::by_email(tx, &s.email)?.is_some() => {
                return Ok(Opened::Already(row));
            }
            Some(s) => Target {
                row,
                email: s.email,
                password_hash: s.password_hash,
                given_name: s.given_name,
                family_name: s.family_name,
                locale: s.locale,
                same_browser,
            },
            None => return Ok(Opened::Invalid(LinkState::Unknown)),
        },
        Some(Holder::Account(sub)) => match users::by_sub(tx, &sub)? {
            Some(u) if u.email_verified => return Ok(Opened::Already(row)),
            Some(u) => Target {
                row,
                email: u.email,
                password_hash: u.password_hash,
                given_name: u.given_name,
                family_name: u.family_name,
                locale: u.locale,
                same_browser,
            },
            None => return Ok(Opened::Invalid(LinkState::Unknown)),
        },
        None => return Ok(Opened::Invalid(LinkState::Unknown)),
    };
    Ok(Opened::Valid(Box::new(target)))
}

/// A used link: « déjà vérifiée » when its account is active, else dead.
fn already_or(
    tx: &Tx<'_>,
    row: EmailToken,
    dead: fn(EmailToken) -> LinkState,
) -> crate::store::Result<Opened> {
    let verified = match row.sub.as_deref() {
        Some(sub) => users::by_sub(tx, sub)?.is_some_and(|u| u.email_verified),
        None => false,
    };
    Ok(if verified {
        Opened::Already(row)
    } else {
        Opened::Invalid(dead(row))
    })
}

/// Activates the account of `token` with `proof`, once, for the browser
/// whose cookie digest is `browser`. A sign-up becomes the account (with
/// its own password, or the new one) and every other pending sign-up of
/// the address goes, with its links; an unverified account is marked
/// verified. Nothing changes unless it succeeds.
pub fn activate(
    tx: &Tx<'_>,
    token: &str,
    browser: &str,
    proof: &Proof,
    origin: &super::audit::Origin,
    now: i64,
) -> crate::store::Result<Activated> {
    let tx = tx.savepoint()?;
    let target = match open(&tx, token, Some(browser), now)? {
        Opened::Valid(target) => *target,
        Opened::Already(row) => return Ok(Activated::Already(row)),
        Opened::Invalid(state) => return Ok(Activated::Invalid(state)),
    };
    let hash = match proof {
        Proof::Browser if target.same_browser => target.password_hash.clone(),
        Proof::Password { checked_hash } if *checked_hash == target.password_hash => {
            target.password_hash.clone()
        }
        Proof::NewPassword { hash } => hash.clone(),
        _ => return Ok(Activated::Refused),
    };
    if !matches!(
        links::redeem(&tx, token, Purpose::Verify, now)?,
        LinkState::Valid(_)
    ) {
        return Ok(Activated::Refused);
    }
    let row = target.row;
    let sub = match Holder::of(&row) {
        Some(Holder::Signup(id)) => {
            let Some(signup) = signups::get(&tx, &id)? else {
                return Ok(Activated::Invalid(LinkState::Unknown));
            };
            let user = User {
                sub: crate::secrets::random_b64(18),
                email: signup.email.clone(),
                email_verified: true,
                password_hash: hash,
                gender: signup.gender,
                given_name: signup.given_name,
                family_name: signup.family_name,
                locale: signup.locale,
                created_at: now,
                updated_at: now,
                ..User::default()
            };
            users::insert(&tx, &user)?;
            email_tokens::adopt(&tx, &crate::secrets::digest(token), &user.sub)?;
            user.sub
        }
        Some(Holder::Account(sub)) => {
            if matches!(proof, Proof::NewPassword { .. }) {
                users::set_password_hash(&tx, &sub, &hash, now)?;
            }
            users::set_verified(&tx, &sub, now)?;
            sub
        }
        None => return Ok(Activated::Invalid(LinkState::Unknown)),
    };
    let kind = super::audit::Kind::EmailVerified;
    super::audit::record(&tx, kind, Some(&sub), None, origin, None, now)?;
    // Whatever else was signed up with this address must never become a
    // valid password.
    signups::delete_for(&tx, &target.email)?;
    let resume = match proof {
        Proof::Browser => row.interaction,
        Proof::Password { .. } => match row.interaction {
            Some(id) => {
                interactions::bind(&tx, &id, browser)?;
                Some(id)
            }
            None => None,
        },
        Proof::NewPassword { .. } => None,
    };
    let amr = match proof {
        // RFC 8176 `pwd`: the password was checked in this very request.
        Proof::Password { .. } => vec!["pwd".to_owned()],
        // Only the mailbox was proven (no RFC 8176 value says so): no
        // method is claimed rather than one that was not used.
        Proof::Browser | Proof::NewPassword { .. } => Vec::new(),
    };
    tx.commit()?;
    Ok(Activated::Done { sub, amr, resume })
}

#[cfg(test)]
mod tests;
