//! `signups`: sign-ups waiting for their activation link, each with its own
//! argon2 hash. No account exists until one of them is confirmed.

use super::{Row, args};

use super::{Result, Tx};

/// A pending sign-up as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signup {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub gender: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    /// Digest of the cookie of the browser that signed up: its activation
    /// links, resent by anyone, stay bound to that browser.
    pub browser: Option<String>,
    /// The pending authorization request it was made for.
    pub interaction: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, email, password_hash, gender, given_name, family_name, locale, \
     browser, interaction, created_at";

fn from_row(row: &Row<'_, '_>) -> Result<Signup> {
    Ok(Signup {
        id: row.get(0)?,
        email: row.get(1)?,
        password_hash: row.get(2)?,
        gender: row.get(3)?,
        given_name: row.get(4)?,
        family_name: row.get(5)?,
        locale: row.get(6)?,
        browser: row.get(7)?,
        interaction: row.get(8)?,
        created_at: row.get(9)?,
    })
}

pub fn insert(tx: &Tx<'_>, s: &Signup) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO signups ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        args![
            s.id,
            s.email,
            s.password_hash,
            s.gender,
            s.given_name,
            s.family_name,
            s.locale,
            s.browser,
            s.interaction,
            s.created_at
        ],
    )?;
    Ok(())
}

pub fn get(tx: &Tx<'_>, id: &str) -> Result<Option<Signup>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM signups WHERE id = ?1"),
        args![id],
        from_row,
    )
}

/// The newest pending sign-up for `email` (case-insensitive).
pub fn latest(tx: &Tx<'_>, email: &str) -> Result<Option<Signup>> {
    // PostgreSQL has no rowid: its table numbers rows in `seq` instead.
    let sql = format!(
        "SELECT {COLUMNS} FROM signups WHERE email = ?1 ORDER BY created_at DESC, {} DESC LIMIT 1",
        tx.pick("rowid", "seq")
    );
    tx.query_opt(&sql, args![email], from_row)
}

/// Binds a sign-up to the browser (and its pending request) that just
/// proved its password, so that its next links activate there.
pub fn bind(tx: &Tx<'_>, id: &str, browser: &str, interaction: Option<&str>) -> Result<()> {
    tx.execute(
        "UPDATE signups SET browser = ?2, interaction = ?3 WHERE id = ?1",
        args![id, browser, interaction],
    )?;
    Ok(())
}

/// Removes every pending sign-up for `email` (their links go with them).
pub fn delete_for(tx: &Tx<'_>, email: &str) -> Result<usize> {
    tx.execute("DELETE FROM signups WHERE email = ?1", args![email])
}

/// Removes the sign-ups made before `before`.
pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    tx.execute("DELETE FROM signups WHERE created_at < ?1", args![before])
}
