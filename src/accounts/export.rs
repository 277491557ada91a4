//! « Mes données »: everything Sésame holds about a citizen, as JSON (the
//! rights of access and portability): profile, the second factor's state,
//! consents, sessions, security events. Never a
//! password hash, a token or any other secret: the export is built field
//! by field from what a citizen may see, not serialised from the rows.

use serde_json::{Value, json};

use crate::config::Clients;
use crate::store::{self, Tx, consents, sessions, users};

/// The export of `sub`'s data at `now`; `None` when there is no account.
pub fn export(tx: &Tx<'_>, clients: &Clients, sub: &str, now: i64) -> store::Result<Option<Value>> {
    let Some(u) = users::by_sub(tx, sub)? else {
        return Ok(None);
    };
    let consents: Vec<Value> = consents::list_of(tx, sub)?
        .into_iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "service": clients.get(&c.client_id).map(|k| k.name.clone()),
                "scopes": c.scopes,
                "granted_at": c.granted_at,
            })
        })
        .collect();
    let sessions: Vec<Value> = sessions::list_of(tx, sub, now)?
        .into_iter()
        .map(|d| {
            json!({
                "started_at": d.created_at,
                "signed_in_at": d.auth_time,
                "ip": d.ip,
                "user_agent": d.user_agent,
            })
        })
        .collect();
    let events: Vec<Value> = super::audit::recent(tx, sub, 1000)?
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at,
                "kind": e.kind,
                "client_id": e.client_id,
                "ip": e.address,
                "user_agent": e.user_agent,
            })
        })
        .collect();
    // Whether a second factor is on, never its key nor its recovery codes.
    let factor = super::totp::status(tx, sub)?;
    Ok(Some(json!({
        "exported_at": now,
        "account": {
            "sub": u.sub,
            "email": u.email,
            "email_verified": u.email_verified,
            "created_at": u.created_at,
            "updated_at": u.updated_at,
            "locale": u.locale,
            "roles": u.roles,
        },
        "profile": {
            "gender": u.gender,
            "family_name": u.family_name,
            "preferred_username": u.preferred_username,
            "given_name": u.given_name,
            "birthdate": u.birthdate,
            "birthplace": u.birthplace,
            "birthcountry": u.birthcountry,
            "phone_number": u.phone_number,
            "address": {
                "street_address": u.street_address,
                "postal_code": u.postal_code,
                "locality": u.locality,
                "country": u.country,
            },
        },
        "second_factor": {
            "enabled": factor.since.is_some(),
            "enabled_at": factor.since,
            "recovery_codes_left": factor.codes_left,
        },
        "consents": consents,
        "sessions": sessions,
        "security_events": events,
    })))
}
