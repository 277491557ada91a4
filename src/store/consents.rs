//! `consents`: what each citizen agreed to share with each service.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};

/// The scopes `sub` has granted `client_id`, if any consent is recorded.
pub fn granted(tx: &Tx<'_>, sub: &str, client_id: &str) -> Result<Option<Vec<String>>> {
    Ok(tx
        .conn
        .prepare_cached("SELECT scopes FROM consents WHERE sub = ?1 AND client_id = ?2")?
        .query_row(params![sub, client_id], |row| row.get::<_, String>(0))
        .optional()
        .map(|found| found.map(|s| s.split_whitespace().map(str::to_owned).collect()))?)
}

/// Records consent to `scopes`, adding to what was granted before.
pub fn grant(tx: &Tx<'_>, sub: &str, client_id: &str, scopes: &[String], now: i64) -> Result<()> {
    let mut all = granted(tx, sub, client_id)?.unwrap_or_default();
    all.extend(scopes.iter().cloned());
    all.sort();
    all.dedup();
    tx.conn.prepare_cached(
        "INSERT INTO consents (sub, client_id, scopes, granted_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (sub, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
    )?
    .execute(params![sub, client_id, all.join(" "), now])?;
    Ok(())
}

pub fn withdraw(tx: &Tx<'_>, sub: &str, client_id: &str) -> Result<bool> {
    Ok(tx
        .conn
        .prepare_cached("DELETE FROM consents WHERE sub = ?1 AND client_id = ?2")?
        .execute(params![sub, client_id])?
        > 0)
}

/// One service a citizen consented to.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

/// Every consent of `sub`, oldest first.
pub fn list_of(tx: &Tx<'_>, sub: &str) -> Result<Vec<Consent>> {
    let mut stmt = tx.conn.prepare_cached(
        "SELECT client_id, scopes, granted_at FROM consents WHERE sub = ?1 ORDER BY granted_at",
    )?;
    let rows = stmt.query_map([sub], |row| {
        let scopes: String = row.get(1)?;
        Ok(Consent {
            client_id: row.get(0)?,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            granted_at: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
        grant(&conn.tx(), "s", "c", &["openid".into(), "email".into()], 1).unwrap();
        grant(&conn.tx(), "s", "c", &["profile".into()], 2).unwrap();
        assert_eq!(
            granted(&conn.tx(), "s", "c").unwrap().unwrap(),
            ["email", "openid", "profile"]
        );
        assert!(withdraw(&conn.tx(), "s", "c").unwrap());
        assert_eq!(granted(&conn.tx(), "s", "c").unwrap(), None);
    }
}
