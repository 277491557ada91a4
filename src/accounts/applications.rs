//! « Applications »: the services a citizen consented to, and
//! « Retirer l'accès » (DESIGN §1.4, the right to withdraw consent): the
//! consent is forgotten, that service's grants end with their refresh and
//! access tokens and unredeemed codes, and it gets a back-channel logout
//! for each session it was following. Next time it asks, the consent page
//! comes back; its refresh token now gets `invalid_grant`.

use std::collections::BTreeSet;

use super::audit::{self, Origin};
use crate::config::Clients;
use crate::secrets;
use crate::store::{self, Tx, backchannel, consents, grants};

pub use crate::store::consents::Consent;

/// Every consent of `sub`.
pub fn list(tx: &Tx<'_>, sub: &str) -> store::Result<Vec<Consent>> {
    consents::list_of(tx, sub)
}

/// Withdraws the consent of `sub` to `client_id`; false (and nothing
/// changed) when there is none — another citizen's, or made up.
pub fn withdraw(
    tx: &Tx<'_>,
    clients: &Clients,
    sub: &str,
    client_id: &str,
    origin: &Origin,
    now: i64,
) -> store::Result<bool> {
    let tx = tx.savepoint()?;
    if !consents::withdraw(&tx, sub, client_id)? {
        return Ok(false);
    }
    let revoked = grants::revoke_client_of(&tx, sub, client_id, now)?;
    let wants_backchannel = clients
        .get(client_id)
        .is_some_and(|c| c.backchannel_logout_uri.is_some());
    if wants_backchannel {
        let sids: BTreeSet<&str> = revoked.iter().filter_map(|g| g.sid.as_deref()).collect();
        for sid in sids {
            backchannel::enqueue(&tx, client_id, sub, sid, &secrets::random_b64(16), now)?;
        }
    }
    let kind = audit::Kind::ConsentWithdrawn;
    audit::record(&tx, kind, Some(sub), Some(client_id), origin, None, now)?;
    tx.commit()?;
    Ok(true)
}
