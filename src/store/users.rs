//! `users`: citizens and their profile claims.

use super::{Row, args};

use super::{Result, Tx};

/// A citizen as stored. `sub` is opaque and never changes; the email can.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: String,
    pub gender: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    pub birthdate: Option<String>,
    pub birthplace: Option<String>,
    pub birthcountry: Option<String>,
    pub phone_number: Option<String>,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub country: Option<String>,
    pub roles: Vec<String>,
    pub locale: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set while the city's staff keep the account disabled.
    pub disabled_at: Option<i64>,
}

const COLUMNS: &str = "sub, email, email_verified, password_hash, gender, given_name, family_name, \
     preferred_username, birthdate, birthplace, birthcountry, phone_number, street_address, \
     postal_code, locality, country, roles, locale, created_at, updated_at, disabled_at";

fn from_row(row: &Row<'_, '_>) -> Result<User> {
    from_row_at(row, 0)
}

/// `sql`, a `SELECT … FROM {from} …`, with the citizen whose `sub` is in
/// `sub` joined (alias `u`): the citizen's [`COLUMNS`] follow the others,
/// read back with [`joined_at`]. For PostgreSQL, where one statement is one
/// round trip fewer; SQLite keeps a cached statement per table (a LEFT JOIN
/// there recompiles on every use, see `grants::ACTIVE_ACCESS_TOKEN`).
pub(super) fn with_citizen(sql: &str, from: &str, sub: &str) -> String {
    sql.replacen(
        &format!(" FROM {from}"),
        &format!(
            ", {} FROM {from} LEFT JOIN users u ON u.sub = {sub}",
            super::tx::prefixed(COLUMNS, "u")
        ),
        1,
    )
}

/// The citizen [`with_citizen`] joined, from column `at` on (`None`: there
/// is none, or the account is gone).
pub(super) fn joined_at(row: &Row<'_, '_>, at: usize) -> Result<Option<User>> {
    match row.get::<Option<String>>(at)? {
        Some(_) => from_row_at(row, at).map(Some),
        None => Ok(None),
    }
}

/// The citizen in the columns of [`COLUMNS`] from `at` on.
pub(super) fn from_row_at(row: &Row<'_, '_>, at: usize) -> Result<User> {
    let roles: String = row.get(at + 16)?;
    Ok(User {
        sub: row.get(at)?,
        email: row.get(at + 1)?,
        email_verified: row.get(at + 2)?,
        password_hash: row.get(at + 3)?,
        gender: row.get(at + 4)?,
        given_name: row.get(at + 5)?,
        family_name: row.get(at + 6)?,
        preferred_username: row.get(at + 7)?,
        birthdate: row.get(at + 8)?,
        birthplace: row.get(at + 9)?,
        birthcountry: row.get(at + 10)?,
        phone_number: row.get(at + 11)?,
        street_address: row.get(at + 12)?,
        postal_code: row.get(at + 13)?,
        locality: row.get(at + 14)?,
        country: row.get(at + 15)?,
        roles: serde_json::from_str(&roles).unwrap_or_default(),
        locale: row.get(at + 17)?,
        created_at: row.get(at + 18)?,
        updated_at: row.get(at + 19)?,
        disabled_at: row.get(at + 20)?,
    })
}

/// Inserts a new citizen. Fails with a constraint error when the email is taken.
pub fn insert(tx: &Tx<'_>, user: &User) -> Result<()> {
    let roles = serde_json::to_string(&user.roles).unwrap_or_else(|_| "[]".into());
    tx.execute(&format!(
        "INSERT INTO users ({COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    ), args![
        user.sub,
        user.email,
        user.email_verified,
        user.password_hash,
        user.gender,
        user.given_name,
        user.family_name,
        user.preferred_username,
        user.birthdate,
        user.birthplace,
        user.birthcountry,
        user.phone_number,
        user.street_address,
        user.postal_code,
        user.locality,
        user.country,
        roles,
        user.locale,
        user.created_at,
        user.updated_at,
        user.disabled_at,
    ])?;
    Ok(())
}

pub fn by_sub(tx: &Tx<'_>, sub: &str) -> Result<Option<User>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM users WHERE sub = ?1"),
        args![sub],
        from_row,
    )
}

pub fn by_email(tx: &Tx<'_>, email: &str) -> Result<Option<User>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
        args![email],
        from_row,
    )
}

/// Replaces the password hash (after a login that found outdated parameters,
/// a reset or a change).
pub fn set_password_hash(tx: &Tx<'_>, sub: &str, hash: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE sub = ?1",
        args![sub, hash, now],
    )?;
    Ok(())
}

/// Every citizen, oldest first (`sesame user list`).
pub fn all(tx: &Tx<'_>) -> Result<Vec<User>> {
    tx.query_all(
        &format!("SELECT {COLUMNS} FROM users ORDER BY created_at, sub"),
        args![],
        from_row,
    )
}

/// Disables (`Some(now)`) or enables (`None`) an account; returns whether
/// it exists.
pub fn set_disabled(tx: &Tx<'_>, sub: &str, disabled_at: Option<i64>, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET disabled_at = ?2, updated_at = ?3 WHERE sub = ?1",
        args![sub, disabled_at, now],
    )? == 1)
}

/// Deletes the account row (its sessions, consents, grants, codes, tokens
/// and links go with it: `ON DELETE CASCADE`) and retires its `sub` for
/// good; returns whether it existed.
pub fn delete(tx: &Tx<'_>, sub: &str, now: i64) -> Result<bool> {
    let sql = tx.pick(
        "INSERT OR IGNORE INTO retired_subs (sub, retired_at) VALUES (?1, ?2)",
        "INSERT INTO retired_subs (sub, retired_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    );
    tx.execute(sql, args![sub, now])?;
    Ok(tx.execute("DELETE FROM users WHERE sub = ?1", args![sub])? == 1)
}

/// Marks the address as verified (a link sent to it was used).
pub fn set_verified(tx: &Tx<'_>, sub: &str, now: i64) -> Result<()> {
    let sql = tx.pick(
        "UPDATE users SET email_verified = 1, updated_at = ?2 WHERE sub = ?1",
        "UPDATE users SET email_verified = TRUE, updated_at = $2 WHERE sub = $1",
    );
    tx.execute(sql, args![sub, now])?;
    Ok(())
}

/// The profile claims a citizen edits on their account page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub gender: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    pub given_name: Option<String>,
    pub birthdate: Option<String>,
    pub phone_number: Option<String>,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub country: Option<String>,
}

/// Replaces the profile claims; `updated_at` moves (OIDC Core §5.1).
pub fn set_profile(tx: &Tx<'_>, sub: &str, p: &Profile, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET gender = ?2, family_name = ?3, preferred_username = ?4, \
             given_name = ?5, birthdate = ?6, phone_number = ?7, street_address = ?8, \
             postal_code = ?9, locality = ?10, country = ?11, updated_at = ?12 WHERE sub = ?1",
        args![
            sub,
            p.gender,
            p.family_name,
            p.preferred_username,
            p.given_name,
            p.birthdate,
            p.phone_number,
            p.street_address,
            p.postal_code,
            p.locality,
            p.country,
            now
        ],
    )? > 0)
}

/// Moves the account to a proven address (it stays verified).
pub fn set_email(tx: &Tx<'_>, sub: &str, email: &str, now: i64) -> Result<()> {
    let sql = tx.pick(
        "UPDATE users SET email = ?2, email_verified = 1, updated_at = ?3 WHERE sub = ?1",
        "UPDATE users SET email = $2, email_verified = TRUE, updated_at = $3 WHERE sub = $1",
    );
    tx.execute(sql, args![sub, email, now])?;
    Ok(())
}

/// Removes the accounts never verified and created before `before`, so
/// their addresses can be used again; returns how many.
pub fn delete_unverified_before(tx: &Tx<'_>, before: i64) -> Result<usize> {
    let sql = tx.pick(
        "DELETE FROM users WHERE email_verified = 0 AND created_at < ?1",
        "DELETE FROM users WHERE NOT email_verified AND created_at < $1",
    );
    tx.execute(sql, args![before])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_accounts_are_found_by_their_index() {
        let db = crate::store::memory();
        let plan: String = db
            .sql()
            .query_row(
                "EXPLAIN QUERY PLAN DELETE FROM users WHERE email_verified = 0 AND created_at < 5",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("users_unverified"), "{plan}");
    }

    #[test]
    fn insert_then_find_by_email_ignores_case() {
        let conn = crate::store::memory();
        let user = User {
            sub: "s1".into(),
            email: "Nathalie@Example.test".into(),
            roles: vec!["citizen".into()],
            ..User::default()
        };
        insert(&conn.tx(), &user).unwrap();
        let found = by_email(&conn.tx(), "nathalie@example.test")
            .unwrap()
            .unwrap();
        assert_eq!(found, user);
        assert!(
            insert(
                &conn.tx(),
                &User {
                    sub: "s2".into(),
                    ..user
                }
            )
            .is_err(),
            "email is unique"
        );
    }
}
