//! `consents`: what each citizen agreed to share with each service.

use super::args;

use super::{Result, Tx};
use crate::protocol::{ClientId, Scopes};

/// The scopes `sub` has granted `client_id`, if any consent is recorded.
pub fn granted(tx: &Tx<'_>, sub: &str, client_id: &str) -> Result<Option<Scopes>> {
    tx.query_opt(
        "SELECT scopes FROM consents WHERE sub = ?1 AND client_id = ?2",
        args![sub, client_id],
        |row| row.get(0),
    )
}

/// What an authorization request for `client_id` decides on: the scopes
/// `sub` granted it, and whether `sub` has a second factor enrolled. One
/// statement (one round trip on PostgreSQL).
pub fn granted_and_enrolled(
    tx: &Tx<'_>,
    sub: &str,
    client_id: &str,
) -> Result<(Option<Scopes>, bool)> {
    tx.query_one(
        "SELECT (SELECT scopes FROM consents WHERE sub = ?1 AND client_id = ?2), \
         EXISTS (SELECT 1 FROM totp WHERE sub = ?1 AND confirmed_at IS NOT NULL)",
        args![sub, client_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

/// Records consent to `scopes`, adding to what was granted before.
pub fn grant(tx: &Tx<'_>, sub: &str, client_id: &str, scopes: Scopes, now: i64) -> Result<()> {
    let all = granted(tx, sub, client_id)?
        .unwrap_or_default()
        .union(scopes);
    tx.execute("INSERT INTO consents (sub, client_id, scopes, granted_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (sub, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at", args![sub, client_id, all.alphabetical(), now])?;
    Ok(())
}

pub fn withdraw(tx: &Tx<'_>, sub: &str, client_id: &str) -> Result<bool> {
    Ok(tx.execute(
        "DELETE FROM consents WHERE sub = ?1 AND client_id = ?2",
        args![sub, client_id],
    )? > 0)
}

/// One service a citizen consented to.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub client_id: ClientId,
    pub scopes: Scopes,
    pub granted_at: i64,
}

/// Every consent of `sub`, oldest first.
pub fn list_of(tx: &Tx<'_>, sub: &str) -> Result<Vec<Consent>> {
    tx.query_all(
        "SELECT client_id, scopes, granted_at FROM consents WHERE sub = ?1 ORDER BY granted_at",
        args![sub],
        |row| {
            Ok(Consent {
                client_id: row.get(0)?,
                scopes: row.get(1)?,
                granted_at: row.get(2)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::users::{self, User};

    #[test]
    fn grants_accumulate_and_can_be_withdrawn() {
        let conn = crate::store::memory();
        users::insert(
            &conn.tx(),
            &User {
                sub: "s".into(),
                email: "a@b.c".into(),
                ..User::default()
            },
        )
        .unwrap();
        assert_eq!(granted(&conn.tx(), "s", "c").unwrap(), None);
        let scopes = |text| Scopes::parse(text).unwrap();
        grant(&conn.tx(), "s", "c", scopes("openid email"), 1).unwrap();
        grant(&conn.tx(), "s", "c", scopes("profile"), 2).unwrap();
        assert_eq!(
            granted(&conn.tx(), "s", "c").unwrap().unwrap(),
            scopes("profile email openid")
        );
        let stored: String = conn
            .sql()
            .query_row("SELECT scopes FROM consents", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, "email openid profile");
        assert!(withdraw(&conn.tx(), "s", "c").unwrap());
        assert_eq!(granted(&conn.tx(), "s", "c").unwrap(), None);
    }
}
