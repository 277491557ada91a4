//! `mail_queue`: the durable outbox. A mail is written here in the same
//! transaction as what caused it, then delivered (and deleted) by the
//! mail worker, retried with backoff while the transport fails.

use rusqlite::params;

use super::{Result, Tx};

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

pub fn push(tx: &Tx<'_>, sender: &str, recipient: &str, message: &[u8], now: i64) -> Result<i64> {
    tx.conn
        .prepare_cached(
            "INSERT INTO mail_queue (sender, recipient, message, created_at, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute(params![sender, recipient, message, now])?;
    Ok(tx.conn.last_insert_rowid())
}

/// Up to `limit` mails whose next attempt is due, oldest first.
pub fn due(tx: &Tx<'_>, now: i64, limit: i64) -> Result<Vec<Queued>> {
    let mut stmt = tx.conn.prepare_cached(
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
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Delivered: the row (and the link it holds) goes.
pub fn delete(tx: &Tx<'_>, id: i64) -> Result<()> {
    tx.conn
        .prepare_cached("DELETE FROM mail_queue WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// A failed attempt: counted, its reason kept, the next one scheduled.
pub fn failed(tx: &Tx<'_>, id: i64, error: &str, next_attempt_at: i64) -> Result<()> {
    tx.conn
        .prepare_cached(
            "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
         WHERE id = ?1",
        )?
        .execute(params![id, error, next_attempt_at])?;
    Ok(())
}

/// How many mails wait, and the last error of the oldest one (for tests
/// and operators).
pub fn pending(tx: &Tx<'_>) -> Result<Vec<(String, i64, Option<String>)>> {
    let mut stmt = tx
        .conn
        .prepare_cached("SELECT recipient, attempts, last_error FROM mail_queue ORDER BY id")?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Drops mails queued before `before` (their links expired long ago);
/// returns how many.
pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    Ok(tx
        .conn
        .prepare_cached("DELETE FROM mail_queue WHERE created_at < ?1")?
        .execute([before])?)
}
