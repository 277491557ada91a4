//! What the city's staff do to an account (`sesame user disable|enable|
//! delete`), and the deletion the citizen asks for themselves, which is
//! the same function. Each is recorded in the audit trail.
//!
//! - **Disabled**: the account stays, but it cannot sign in (the right
//!   password is answered « compte désactivé », a wrong one as usual), its
//!   sessions end, its grants are revoked (so userinfo, introspection and
//!   refresh refuse its tokens), its services hear of it by back-channel
//!   logout, and its open email links die.
//! - **Deleted**: all of the above, then the personal data is erased
//!   (sessions, consents, grants, codes and links go with the row), the
//!   address is free for a new account, and the `sub` is retired: it is
//!   never given to anybody again.

use crate::config::Clients;
use crate::store::{self, Tx, email_tokens, users};

use super::audit::{self, Kind, Origin};
use super::links::Purpose;
use super::password_change::{Ended, end_everything};

/// Disables the account `sub`; `None` when there is no such account.
pub fn disable(
    tx: &Tx<'_>,
    clients: &Clients,
    sub: &str,
    origin: &Origin,
    now: i64,
) -> store::Result<Option<Ended>> {
    let tx = tx.savepoint()?;
    if !users::set_disabled(&tx, sub, Some(now), now)? {
        return Ok(None);
    }
    let ended = end_everything(&tx, clients, sub, None, now)?;
    for purpose in [Purpose::Verify, Purpose::Reset] {
        email_tokens::replace_open(&tx, Some(sub), None, purpose.as_str(), now)?;
    }
    let detail = "user disable";
    audit::record(&tx, Kind::Admin, Some(sub), None, origin, Some(detail), now)?;
    tx.commit()?;
    Ok(Some(ended))
}

/// Lets a disabled account sign in again; `false` when there is no such
/// account.
pub fn enable(tx: &Tx<'_>, sub: &str, origin: &Origin, now: i64) -> store::Result<bool> {
    let tx = tx.savepoint()?;
    if !users::set_disabled(&tx, sub, None, now)? {
        return Ok(false);
    }
    let detail = "user enable";
    audit::record(&tx, Kind::Admin, Some(sub), None, origin, Some(detail), now)?;
    tx.commit()?;
    Ok(true)
}

/// Who asked for a deletion, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// The citizen, from their account space.
    Citizen,
    /// The city's staff, with `sesame user delete`.
    Staff,
}

/// Deletes the account `sub` (see the module header); `None` when there
/// is no such account.
pub fn delete_account(
    tx: &Tx<'_>,
    clients: &Clients,
    sub: &str,
    by: DeletedBy,
    origin: &Origin,
    now: i64,
) -> store::Result<Option<Ended>> {
    let tx = tx.savepoint()?;
    if users::by_sub(&tx, sub)?.is_none() {
        return Ok(None);
    }
    let ended = end_everything(&tx, clients, sub, None, now)?;
    users::delete(&tx, sub, now)?;
    let detail = match by {
        DeletedBy::Citizen => "by the citizen",
        DeletedBy::Staff => "user delete",
    };
    audit::record(
        &tx,
        Kind::AccountDeleted,
        Some(sub),
        None,
        origin,
        Some(detail),
        now,
    )?;
    tx.commit()?;
    Ok(Some(ended))
}

#[cfg(test)]
mod tests;
