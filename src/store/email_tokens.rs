//! `email_tokens`: the links sent by mail (address verification, password
//! reset), keyed by the SHA-256 digest of their 256-bit token.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};

/// A link as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmailToken {
    pub sub: String,
    pub purpose: String,
    pub interaction: Option<String>,
    pub browser: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub replaced_at: Option<i64>,
}

pub fn insert(tx: &Tx<'_>, digest: &str, t: &EmailToken) -> Result<()> {
    tx.conn.prepare_cached(
        "INSERT INTO email_tokens (digest, sub, purpose, interaction, browser, created_at, expires_at, used_at, replaced_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        digest,
        t.sub,
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
    Ok(tx.conn.prepare_cached(
        "SELECT sub, purpose, interaction, browser, created_at, expires_at, used_at, replaced_at \
         FROM email_tokens WHERE digest = ?1",
    )?
    .query_row([digest], |row| {
        Ok(EmailToken {
            sub: row.get(0)?,
            purpose: row.get(1)?,
            interaction: row.get(2)?,
            browser: row.get(3)?,
            created_at: row.get(4)?,
            expires_at: row.get(5)?,
            used_at: row.get(6)?,
            replaced_at: row.get(7)?,
        })
    })
    .optional()?)
}

/// Marks every still-open link of `sub` for `purpose` as replaced.
pub fn replace_open(tx: &Tx<'_>, sub: &str, purpose: &str, now: i64) -> Result<usize> {
    Ok(tx
        .conn
        .prepare_cached(
            "UPDATE email_tokens SET replaced_at = ?3 \
         WHERE sub = ?1 AND purpose = ?2 AND used_at IS NULL AND replaced_at IS NULL",
        )?
        .execute(params![sub, purpose, now])?)
}

/// Marks the link used if it still is open and unexpired; false otherwise
/// (so two concurrent redemptions cannot both succeed).
pub fn mark_used(tx: &Tx<'_>, digest: &str, now: i64) -> Result<bool> {
    let changed = tx
        .conn
        .prepare_cached(
            "UPDATE email_tokens SET used_at = ?2 \
             WHERE digest = ?1 AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ?2",
        )?
        .execute(params![digest, now])?;
    Ok(changed == 1)
}

/// Removes links created before `before`.
pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    Ok(tx
        .conn
        .prepare_cached("DELETE FROM email_tokens WHERE created_at < ?1")?
        .execute([before])?)
}
