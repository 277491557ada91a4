//! `mail_queue`: the durable outbox. A mail is written here in the same
//! transaction as what caused it, then delivered (and deleted) by the
//! mail worker, retried with backoff while the transport fails.

use rusqlite::{Connection, params};

/// A mail waiting for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub sender: String,
    pub recipient: String,
    pub message: Vec<u8>,
    pub created_at: i64,
    pub attempts: i64,
}

pub fn push(
    conn: &Connection,
    sender: &str,
    recipient: &str,
    message: &[u8],
    now: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO mail_queue (sender, recipient, message, created_at, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![sender, recipient, message, now])?;
    Ok(conn.last_insert_rowid())
}

/// Up to `limit` mails whose next attempt is due, oldest first.
pub fn due(conn: &Connection, now: i64, limit: i64) -> rusqlite::Result<Vec<Queued>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, sender, recipient, message, created_at, attempts FROM mail_queue \
         WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |row| {
        Ok(Queued {
            id: row.get(0)?,
            sender: row.get(1)?,
            recipient: row.get(2)?,
            message: row.get(3)?,
            created_at: row.get(4)?,
            attempts: row.get(5)?,
        })
    })?;
    rows.collect()
}

/// Delivered: the row (and the link it holds) goes.
pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM mail_queue WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// A failed attempt: counted, its reason kept, the next one scheduled.
pub fn failed(
    conn: &Connection,
    id: i64,
    error: &str,
    next_attempt_at: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
         WHERE id = ?1",
    )?
    .execute(params![id, error, next_attempt_at])?;
    Ok(())
}

/// How many mails wait, and the last error of the oldest one (for tests
/// and operators).
pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<(String, i64, Option<String>)>> {
    let mut stmt =
        conn.prepare_cached("SELECT recipient, attempts, last_error FROM mail_queue ORDER BY id")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.collect()
}

/// Drops mails queued before `before` (their links expired long ago);
/// returns how many.
pub fn purge(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM mail_queue WHERE created_at < ?1")?
        .execute([before])
}
