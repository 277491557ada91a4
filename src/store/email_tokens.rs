//! `email_tokens`: the links sent by mail (address verification, password
//! reset), keyed by the SHA-256 digest of their 256-bit token. A link
//! names an account (`sub`) or a pending sign-up (`signup`), never both.

use super::args;

use super::{Result, Tx};

/// A link as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmailToken {
    pub sub: Option<String>,
    pub signup: Option<String>,
    pub purpose: String,
    pub interaction: Option<String>,
    pub browser: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub replaced_at: Option<i64>,
}

pub fn insert(tx: &Tx<'_>, digest: &str, t: &EmailToken) -> Result<()> {
    tx.execute("INSERT INTO email_tokens (digest, sub, signup, purpose, interaction, browser, created_at, expires_at, used_at, replaced_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", args![
        digest,
        t.sub,
        t.signup,
        t.purpose,
        t.interaction,
        t.browser,
        t.created_at,
        t.expires_at,
        t.used_at,
        t.replaced_at
    ])?;
    Ok(())
}

/// The link with this digest, whatever its state.
pub fn get(tx: &Tx<'_>, digest: &str) -> Result<Option<EmailToken>> {
    tx.query_opt("SELECT sub, signup, purpose, interaction, browser, created_at, expires_at, used_at, replaced_at \
         FROM email_tokens WHERE digest = ?1", args![digest], |row| {
        Ok(EmailToken {
            sub: row.get(0)?,
            signup: row.get(1)?,
            purpose: row.get(2)?,
            interaction: row.get(3)?,
            browser: row.get(4)?,
            created_at: row.get(5)?,
            expires_at: row.get(6)?,
            used_at: row.get(7)?,
            replaced_at: row.get(8)?,
        })
    })
}

/// Marks every still-open link of the account `sub` or the sign-up
/// `signup` (whichever is given) for `purpose` as replaced.
pub fn replace_open(
    tx: &Tx<'_>,
    sub: Option<&str>,
    signup: Option<&str>,
    purpose: &str,
    now: i64,
) -> Result<usize> {
    // Each statement takes only the parameters it names: PostgreSQL must
    // know the type of every one it is sent.
    match sub {
        Some(sub) => tx.execute(
            "UPDATE email_tokens SET replaced_at = ?3 \
             WHERE sub = ?1 AND purpose = ?2 AND used_at IS NULL AND replaced_at IS NULL",
            args![sub, purpose, now],
        ),
        None => tx.execute(
            "UPDATE email_tokens SET replaced_at = ?3 \
             WHERE signup = ?1 AND purpose = ?2 AND used_at IS NULL AND replaced_at IS NULL",
            args![signup, purpose, now],
        ),
    }
}

/// Marks the link used if it still is open and unexpired; false otherwise
/// (so two concurrent redemptions cannot both succeed).
pub fn mark_used(tx: &Tx<'_>, digest: &str, now: i64) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE email_tokens SET used_at = ?2 \
             WHERE digest = ?1 AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ?2",
        args![digest, now],
    )?;
    Ok(changed == 1)
}

/// Removes links created before `before`.
pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    tx.execute(
        "DELETE FROM email_tokens WHERE created_at < ?1",
        args![before],
    )
}

/// Hands a used activation link over from its sign-up to the account the
/// sign-up became, so that opening it again says « déjà vérifiée ».
pub fn adopt(tx: &Tx<'_>, digest: &str, sub: &str) -> Result<()> {
    tx.execute(
        "UPDATE email_tokens SET sub = ?2, signup = NULL WHERE digest = ?1",
        args![digest, sub],
    )?;
    Ok(())
}
