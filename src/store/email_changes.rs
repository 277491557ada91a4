//! `email_changes`: address changes waiting for the link sent to the new
//! address, keyed by the SHA-256 digest of that link's token.

use super::args;

use super::{Result, Tx};

/// A requested address change, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailChange {
    pub sub: String,
    pub new_email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub replaced_at: Option<i64>,
}

/// Records a change request under the digests of its confirmation link
/// and of its cancellation link, replacing the open ones of `sub`.
pub fn insert(tx: &Tx<'_>, digest: &str, cancel: &str, c: &EmailChange) -> Result<()> {
    tx.execute(
        "UPDATE email_changes SET replaced_at = ?2 \
             WHERE sub = ?1 AND used_at IS NULL AND replaced_at IS NULL",
        args![c.sub, c.created_at],
    )?;
    tx.execute(
        "INSERT INTO email_changes (digest, cancel, sub, new_email, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            digest,
            cancel,
            c.sub,
            c.new_email,
            c.created_at,
            c.expires_at
        ],
    )?;
    Ok(())
}

pub fn get(tx: &Tx<'_>, digest: &str) -> Result<Option<EmailChange>> {
    tx.query_opt(
        "SELECT sub, new_email, created_at, expires_at, used_at, replaced_at \
             FROM email_changes WHERE digest = ?1",
        args![digest],
        |row| {
            Ok(EmailChange {
                sub: row.get(0)?,
                new_email: row.get(1)?,
                created_at: row.get(2)?,
                expires_at: row.get(3)?,
                used_at: row.get(4)?,
                replaced_at: row.get(5)?,
            })
        },
    )
}

/// Marks the change used if it is still open and unexpired; false
/// otherwise (two concurrent confirmations cannot both succeed).
pub fn mark_used(tx: &Tx<'_>, digest: &str, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE email_changes SET used_at = ?2 WHERE digest = ?1 \
             AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ?2",
        args![digest, now],
    )? > 0)
}

/// « Ce n'était pas moi »: closes the change whose cancellation link has
/// this digest, if it is still open; false otherwise.
pub fn cancel(tx: &Tx<'_>, cancel: &str, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE email_changes SET replaced_at = ?2 WHERE cancel = ?1 \
             AND used_at IS NULL AND replaced_at IS NULL",
        args![cancel, now],
    )? > 0)
}
