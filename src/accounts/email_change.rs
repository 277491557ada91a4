//! « Courriel » of the citizen's own space: a change of address takes
//! effect only when the link sent to the **new** address is opened (the
//! same lifetime and abuse limits as sign-up links); the **old** address
//! gets a notice whose « Ce n'était pas moi » link cancels the change.
//! Meanwhile the address in use stays the account's, verified.

use super::audit::{self, Origin};
use super::links::{self, Limit, MailContext};
use super::users::Email;
use crate::mail::{Kind, Mailer};
use crate::secrets;
use crate::store::email_changes::{self, EmailChange};
use crate::store::{self, Tx, users};

/// Where the links of the two mails point (the token is appended).
pub struct Urls<'a> {
    pub confirm: &'a str,
    pub cancel: &'a str,
}

/// What asking for a change came to.
#[derive(Debug, PartialEq)]
pub enum Requested {
    /// The link was sent to the new address (returned for the outbox log).
    Sent(String),
    /// Not an address.
    Invalid,
    /// The account's address already.
    Same,
    Limited(Limit),
}

/// Asks to move the account of `sub` to `typed`.
pub fn request(
    tx: &Tx<'_>,
    mailer: &Mailer,
    sub: &str,
    typed: &str,
    ctx: &MailContext,
    urls: &Urls<'_>,
    now: i64,
) -> store::Result<Requested> {
    let Some(new) = Email::parse(typed).filter(|_| typed.len() <= 254) else {
        return Ok(Requested::Invalid);
    };
    let Some(user) = users::by_sub(tx, sub)? else {
        return Ok(Requested::Invalid);
    };
    if user.email.eq_ignore_ascii_case(new.as_str()) {
        return Ok(Requested::Same);
    }
    let tx = tx.savepoint()?;
    if let Err(limit) = links::allow_mail(&tx, new.as_str(), ctx, now)? {
        return Ok(Requested::Limited(limit));
    }
    // An address already taken gets the same answer (no enumeration): the
    // link is sent, and its confirmation says the address is in use.
    let (token, cancel) = (secrets::token(), secrets::token());
    let row = EmailChange {
        sub: sub.to_owned(),
        new_email: new.as_str().to_owned(),
        created_at: now,
        expires_at: now + ctx.ttl_seconds,
        used_at: None,
        replaced_at: None,
    };
    email_changes::insert(
        &tx,
        &secrets::digest(&token),
        &secrets::digest(&cancel),
        &row,
    )?;
    let link = format!("{}{token}", urls.confirm);
    let to_new = users::User {
        email: new.as_str().to_owned(),
        ..user.clone()
    };
    let letter = |u: &users::User, kind, link: &str| {
        links::queue_letter(
            &tx,
            mailer,
            &links::Recipient::account(u),
            kind,
            link,
            ctx.lang,
            ctx.ttl_seconds,
            now,
        )
    };
    letter(&to_new, Kind::EmailChange, &link)?;
    letter(
        &user,
        Kind::EmailChangeNotice,
        &format!("{}{cancel}", urls.cancel),
    )?;
    tx.commit()?;
    Ok(Requested::Sent(link))
}

/// What opening the confirmation link came to.
#[derive(Debug, PartialEq)]
pub enum Confirmed {
    /// The account now uses this address.
    Done(String),
    /// Another account took the address meanwhile: nothing changed.
    Taken,
    /// Unknown, expired, used, replaced or cancelled.
    Invalid,
}

/// Opens the link sent to the new address: the change takes effect, once.
pub fn confirm(tx: &Tx<'_>, token: &str, origin: &Origin, now: i64) -> store::Result<Confirmed> {
    if token.len() != secrets::TOKEN_LEN {
        return Ok(Confirmed::Invalid);
    }
    let digest = secrets::digest(token);
    let Some(row) = email_changes::get(tx, &digest)? else {
        return Ok(Confirmed::Invalid);
    };
    let tx = tx.savepoint()?;
    if !email_changes::mark_used(&tx, &digest, now)? {
        return Ok(Confirmed::Invalid);
    }
    if users::by_email(&tx, &row.new_email)?.is_some() {
        return Ok(Confirmed::Taken);
    }
    users::set_email(&tx, &row.sub, &row.new_email, now)?;
    audit::record(
        &tx,
        audit::Kind::EmailChanged,
        Some(&row.sub),
        None,
        origin,
        None,
        now,
    )?;
    tx.commit()?;
    Ok(Confirmed::Done(row.new_email))
}

/// « Ce n'était pas moi »: cancels the change; false when it can no
/// longer be (confirmed, replaced, already cancelled, unknown).
pub fn cancel(tx: &Tx<'_>, token: &str, now: i64) -> store::Result<bool> {
    if token.len() != secrets::TOKEN_LEN {
        return Ok(false);
    }
    email_changes::cancel(tx, &secrets::digest(token), now)
}
