//! « Supprimer mon compte »: the citizen's own deletion is the staff's
//! ([`admin::delete_account`], which ends everything, erases the data,
//! retires the `sub` and records it), preceded by the last mail, queued in
//! the same job so that both happen or neither.

use super::admin::{self, DeletedBy};
use super::audit::Origin;
use super::links;
use super::password_change::Ended;
use crate::config::Clients;
use crate::i18n::Lang;
use crate::mail::{Kind, Mailer};
use crate::store::{self, Tx, users};

/// What the last mail needs.
pub struct Farewell<'a> {
    /// The language of the mail when the account has none recorded.
    pub lang: Lang,
    /// The absolute URL of « Créer un compte », the mail's link.
    pub signup_url: &'a str,
}

/// Deletes the account of `sub` at its own request; `None` when there is
/// none.
pub fn delete_own_account(
    tx: &Tx<'_>,
    mailer: &Mailer,
    clients: &Clients,
    sub: &str,
    farewell: &Farewell<'_>,
    origin: &Origin,
    now: i64,
) -> store::Result<Option<Ended>> {
    let tx = tx.savepoint()?;
    let Some(user) = users::by_sub(&tx, sub)? else {
        return Ok(None);
    };
    links::queue_letter(
        &tx,
        mailer,
        &links::Recipient::account(&user),
        Kind::AccountDeleted,
        farewell.signup_url,
        farewell.lang,
        0,
        now,
    )?;
    let ended = admin::delete_account(&tx, clients, sub, DeletedBy::Citizen, origin, now)?;
    tx.commit()?;
    Ok(ended)
}
