//! `mail_queue`: the durable outbox. A mail is written here in the same
//! transaction as what caused it, then delivered (and deleted) by the
//! mail worker, retried with backoff while the transport fails.

use super::args;

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
    tx.query_one(
        "INSERT INTO mail_queue (sender, recipient, message, created_at, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        args![sender, recipient, message, now],
        |row| row.get(0),
    )
}

/// Takes up to `limit` mails whose next attempt is due, oldest first, and
/// hides them until `lease_until`: a worker (of this node or another) that
/// looks meanwhile does not send them again. Delivered, a mail is deleted;
/// failed, it is rescheduled; if its worker died, it is due again when the
/// lease ends.
pub fn lease_due(tx: &Tx<'_>, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Queued>> {
    let sql = tx.pick(
        "UPDATE mail_queue SET next_attempt_at = ?2 WHERE id IN \
         (SELECT id FROM mail_queue WHERE next_attempt_at <= ?1 \
          ORDER BY next_attempt_at, id LIMIT ?3) \
         RETURNING id, sender, recipient, message, created_at, attempts",
        "UPDATE mail_queue SET next_attempt_at = $2 WHERE id IN \
         (SELECT id FROM mail_queue WHERE next_attempt_at <= $1 \
          ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, sender, recipient, message, created_at, attempts",
    );
    let mut due = tx.query_all(sql, args![now, lease_until, limit], |row| {
        Ok(Queued {
            id: row.get(0)?,
            sender: row.get(1)?,
            recipient: row.get(2)?,
            message: row.get(3)?,
            created_at: row.get(4)?,
            attempts: row.get(5)?,
        })
    })?;
    // RETURNING keeps no order.
    due.sort_by_key(|mail| mail.id);
    Ok(due)
}

/// Delivered: the row (and the link it holds) goes.
pub fn delete(tx: &Tx<'_>, id: i64) -> Result<()> {
    tx.execute("DELETE FROM mail_queue WHERE id = ?1", args![id])?;
    Ok(())
}

/// A failed attempt: counted, its reason kept, the next one scheduled.
pub fn failed(tx: &Tx<'_>, id: i64, error: &str, next_attempt_at: i64) -> Result<()> {
    tx.execute(
        "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 \
         WHERE id = ?1",
        args![id, error, next_attempt_at],
    )?;
    Ok(())
}

/// How many mails wait, and the last error of the oldest one (for tests
/// and operators).
pub fn pending(tx: &Tx<'_>) -> Result<Vec<(String, i64, Option<String>)>> {
    tx.query_all(
        "SELECT recipient, attempts, last_error FROM mail_queue ORDER BY id",
        args![],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
}

/// Drops mails queued before `before` (their links expired long ago);
/// returns how many.
pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    tx.execute(
        "DELETE FROM mail_queue WHERE created_at < ?1",
        args![before],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leased_mail_is_taken_once_then_again_after_its_lease() {
        let db = crate::store::memory();
        let tx = db.tx();
        let id = push(&tx, "from@x", "to@x", b"mail", 100).unwrap();
        let first = lease_due(&tx, 100, 400, 20).unwrap();
        assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);
        // Another worker (another node) looking meanwhile finds nothing.
        assert!(lease_due(&tx, 200, 500, 20).unwrap().is_empty());
        // The first worker died without an answer: after the lease it is due.
        assert_eq!(lease_due(&tx, 400, 700, 20).unwrap().len(), 1);
    }
}
