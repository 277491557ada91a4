//! What a new password ends (a reset by email link today, the account
//! page's password change later): a changed password means the old one may
//! have been known to someone else, so nothing obtained with it survives.
//!
//! - every browser session of the account (but the one the change was
//!   made in, when there is one: the citizen stays signed in there);
//! - every grant of every service, `offline_access` refresh families
//!   included (a thief holding a refresh token would otherwise keep
//!   access), with their access tokens and the codes not yet redeemed;
//! - a back-channel logout token to each service concerned that wants one;
//! - a notice mail to the citizen, whose link leads to « Mot de passe
//!   oublié ? » in case the change was not theirs.
//!
//! All of it in the caller's transaction, so the new password and its
//! consequences are kept or lost together.

use std::collections::BTreeSet;

use crate::config::Clients;
use crate::i18n::Lang;
use crate::mail::{self, Mailer};
use crate::oidc::logout;
use crate::secrets;
use crate::store::{Tx, backchannel, grants, sessions, users};

use super::links;

/// The circumstances of a password change.
pub struct PasswordChange<'a> {
    pub sub: &'a str,
    /// The session the change was made in, which stays (none for a reset:
    /// its browser gets a new session afterwards).
    pub keep_sid: Option<&'a str>,
    /// The language of the notice when the account has none recorded.
    pub lang: Lang,
    /// The absolute URL of « Mot de passe oublié ? », for the notice.
    pub forgot_url: &'a str,
}

/// What a password change ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ended {
    pub sessions: usize,
    pub grants: usize,
    /// Clients a back-channel logout token was queued for (once each).
    pub notified: Vec<String>,
}

/// Ends everything the old password gave (see the module header).
pub fn password_changed(
    tx: &Tx<'_>,
    mailer: &Mailer,
    clients: &Clients,
    change: &PasswordChange<'_>,
    now: i64,
) -> crate::store::Result<Ended> {
    let tx = tx.savepoint()?;
    let sub = change.sub;
    let ended = end_everything(&tx, clients, sub, change.keep_sid, now)?;
    if let Some(user) = users::by_sub(&tx, sub)? {
        let kind = mail::Kind::PasswordChanged;
        links::queue_letter(
            &tx,
            mailer,
            &links::Recipient::account(&user),
            kind,
            change.forgot_url,
            change.lang,
            0,
            now,
        )?;
    }
    tx.commit()?;
    Ok(ended)
}

/// Ends every session of `sub` but `keep_sid`, revokes every grant (with
/// its refresh and access tokens and unredeemed codes), and queues one
/// back-channel logout per (service, session) concerned. Shared by a
/// password change, a disabled account and a deleted one.
pub fn end_everything(
    tx: &Tx<'_>,
    clients: &Clients,
    sub: &str,
    keep_sid: Option<&str>,
    now: i64,
) -> crate::store::Result<Ended> {
    let has_backchannel = |id: &str| {
        clients
            .get(id)
            .is_some_and(|c| c.backchannel_logout_uri.is_some())
    };
    // (client, sid) pairs told already, so no service hears twice of one session.
    let mut told = BTreeSet::new();
    let ended = sessions::delete_others(tx, sub, keep_sid)?;
    for sid in &ended {
        for client in logout::after_session_ended(tx, sid, sub, &has_backchannel, now)? {
            told.insert((client, sid.clone()));
        }
    }
    let revoked = grants::revoke_all_of(tx, sub, now)?;
    for grant in &revoked {
        // A family whose session ended earlier (a logout, an idle expiry)
        // still acts for the citizen: its service must hear of this too.
        let Some(sid) = grant.sid.as_deref().filter(|_| grant.family_alive) else {
            continue;
        };
        let pair = (grant.client_id.clone(), sid.to_owned());
        if has_backchannel(&grant.client_id) && !told.contains(&pair) {
            backchannel::enqueue(
                tx,
                &grant.client_id,
                sub,
                sid,
                &secrets::random_b64(16),
                now,
            )?;
            told.insert(pair);
        }
    }
    let notified: BTreeSet<String> = told.into_iter().map(|(client, _)| client).collect();
    Ok(Ended {
        sessions: ended.len(),
        grants: revoked.len(),
        notified: notified.into_iter().collect(),
    })
}
