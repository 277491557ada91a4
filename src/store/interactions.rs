//! `interactions`: validated authorization requests waiting for a login,
//! a sign-up or a consent. Pages carry only the id.

use rusqlite::{Connection, OptionalExtension, params};

pub fn insert(
    conn: &Connection,
    id: &str,
    request_json: &str,
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO interactions (id, request, expires_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, request_json, expires_at])?;
    Ok(())
}

/// The request JSON and the sid of the login done for it, if still pending.
pub fn get(
    conn: &Connection,
    id: &str,
    now: i64,
) -> rusqlite::Result<Option<(String, Option<String>)>> {
    conn.prepare_cached(
        "SELECT request, login_sid FROM interactions WHERE id = ?1 AND expires_at > ?2",
    )?
    .query_row(params![id, now], |row| Ok((row.get(0)?, row.get(1)?)))
    .optional()
}

/// Records that the citizen signed in (session `sid`) for this request.
pub fn set_login(conn: &Connection, id: &str, sid: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE interactions SET login_sid = ?2 WHERE id = ?1")?
        .execute(params![id, sid])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM interactions WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn purge_expired(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM interactions WHERE expires_at <= ?1")?
        .execute([now])
}
