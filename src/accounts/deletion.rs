//! Deleting an account (the right to erasure), the one function for the
//! citizen's own « Supprimer mon compte » and the operator's `sesame user
//! delete`: every session and grant ends, each service concerned gets a
//! back-channel logout, a last mail confirms, and the personal data is
//! erased (the rows go, and what hangs on them through foreign keys). The
//! subject identifier is retired, never given again; the address may sign
//! up again as a new account.

use super::links;
use super::password_change::{Ended, end_everything};
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

/// Deletes the account of `sub`; `None` when there is none.
pub fn delete_account(
    tx: &Tx<'_>,
    mailer: &Mailer,
    clients: &Clients,
    sub: &str,
    farewell: &Farewell<'_>,
    now: i64,
) -> store::Result<Option<Ended>> {
    let tx = tx.savepoint()?;
    let Some(user) = users::by_sub(&tx, sub)? else {
        return Ok(None);
    };
    let ended = end_everything(&tx, clients, sub, None, now)?;
    links::queue_letter(
        &tx,
        mailer,
        &user,
        Kind::AccountDeleted,
        farewell.signup_url,
        farewell.lang,
        0,
        now,
    )?;
    users::delete(&tx, sub, now)?;
    tx.commit()?;
    Ok(Some(ended))
}
