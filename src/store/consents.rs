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
