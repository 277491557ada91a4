//! `interactions`: validated authorization requests waiting for a login,
//! a sign-up or a consent. Pages carry only the id.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};

pub fn insert(tx: &Tx<'_>, id: &str, request_json: &str, expires_at: i64) -> Result<()> {
    tx.conn
        .prepare_cached("INSERT INTO interactions (id, request, expires_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, request_json, expires_at])?;
    Ok(())
}

/// The request JSON and the sid of the login done for it, if still pending.
pub fn get(tx: &Tx<'_>, id: &str, now: i64) -> Result<Option<(String, Option<String>)>> {
    Ok(tx
        .conn
        .prepare_cached(
            "SELECT request, login_sid FROM interactions WHERE id = ?1 AND expires_at > ?2",
        )?
        .query_row(params![id, now], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// Records that the citizen signed in (session `sid`) for this request.
pub fn set_login(tx: &Tx<'_>, id: &str, sid: &str) -> Result<()> {
    tx.conn
        .prepare_cached("UPDATE interactions SET login_sid = ?2 WHERE id = ?1")?
        .execute(params![id, sid])?;
    Ok(())
}

/// Consumes a pending request; false when it was gone already (another
/// request consumed it first), so only one answer is ever sent for it.
pub fn delete(tx: &Tx<'_>, id: &str) -> Result<bool> {
    Ok(tx
        .conn
        .prepare_cached("DELETE FROM interactions WHERE id = ?1")?
        .execute([id])?
        == 1)
}

pub fn purge_expired(tx: &Tx<'_>, now: i64) -> Result<usize> {
    Ok(tx
        .conn
        .prepare_cached("DELETE FROM interactions WHERE expires_at <= ?1")?
        .execute([now])?)
}
