//! `backchannel_logouts`: the durable queue of Back-Channel Logout 1.0
//! deliveries. A delivery is leased before it is attempted (its next
//! attempt pushed past the lease), so a crash mid-delivery only delays it.

use super::args;

use super::{Result, Tx};

/// One logout token to deliver to one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub client_id: String,
    pub sub: String,
    pub sid: String,
    pub jti: String,
    /// Attempts made so far, this one included once leased.
    pub attempts: u32,
}

pub fn enqueue(
    tx: &Tx<'_>,
    client_id: &str,
    sub: &str,
    sid: &str,
    jti: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO backchannel_logouts (client_id, sub, sid, jti, next_attempt_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        args![client_id, sub, sid, jti, now],
    )?;
    Ok(())
}

/// Takes up to `limit` deliveries due at `now`, counts the attempt and
/// hides them until `lease_until`.
pub fn lease_due(tx: &Tx<'_>, now: i64, lease_until: i64, limit: usize) -> Result<Vec<Delivery>> {
    let tx = tx.savepoint()?;
    let due: Vec<Delivery> = {
        // On PostgreSQL, rows another node is leasing right now are skipped
        // rather than waited for (each delivery goes out once).
        let sql = tx.pick(
            "UPDATE backchannel_logouts SET attempts = attempts + 1, next_attempt_at = ?2 \
             WHERE id IN (SELECT id FROM backchannel_logouts WHERE next_attempt_at <= ?1 \
                          ORDER BY next_attempt_at LIMIT ?3) \
             RETURNING id, client_id, sub, sid, jti, attempts",
            "UPDATE backchannel_logouts SET attempts = attempts + 1, next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM backchannel_logouts WHERE next_attempt_at <= $1 \
                          ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, client_id, sub, sid, jti, attempts",
        );
        tx.query_all(sql, args![now, lease_until, limit as i64], |row| {
            Ok(Delivery {
                id: row.get(0)?,
                client_id: row.get(1)?,
                sub: row.get(2)?,
                sid: row.get(3)?,
                jti: row.get(4)?,
                attempts: u32::try_from(row.get::<i64>(5)?).unwrap_or(u32::MAX),
            })
        })?
    };
    tx.commit()?;
    Ok(due)
}

/// Removes a delivery (done, refused or given up).
pub fn remove(tx: &Tx<'_>, id: i64) -> Result<()> {
    tx.execute("DELETE FROM backchannel_logouts WHERE id = ?1", args![id])?;
    Ok(())
}

pub fn reschedule(tx: &Tx<'_>, id: i64, at: i64) -> Result<()> {
    tx.execute(
        "UPDATE backchannel_logouts SET next_attempt_at = ?2 WHERE id = ?1",
        args![id, at],
    )?;
    Ok(())
}

/// When the next delivery is due, if any is queued.
pub fn next_due(tx: &Tx<'_>) -> Result<Option<i64>> {
    tx.query_one(
        "SELECT MIN(next_attempt_at) FROM backchannel_logouts",
        args![],
        |row| row.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leased_deliveries_hide_until_the_lease_ends() {
        let conn = crate::store::memory();
        enqueue(&conn.tx(), "rp", "alice", "sid1", "j1", 100).unwrap();
        enqueue(&conn.tx(), "rp", "alice", "sid1", "j2", 200).unwrap();
        assert_eq!(next_due(&conn.tx()).unwrap(), Some(100));
        let due = lease_due(&conn.tx(), 150, 180, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].jti.as_str(), due[0].attempts), ("j1", 1));
        assert!(lease_due(&conn.tx(), 170, 200, 10).unwrap().is_empty());
        let again = lease_due(&conn.tx(), 180, 300, 10).unwrap();
        assert_eq!(again.len(), 1, "j1 only; j2 is due at 200");
        assert_eq!(again[0].attempts, 2, "a lost attempt still counts");
        reschedule(&conn.tx(), again[0].id, 500).unwrap();
        remove(&conn.tx(), again[0].id).unwrap();
        assert_eq!(next_due(&conn.tx()).unwrap(), Some(200));
    }
}
