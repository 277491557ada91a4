//! Expired rows, removed one small batch at a time.
//!
//! Housekeeping once deleted every expired row of a table in one statement:
//! one database job that held the database thread — and every request
//! queued behind it — for seconds on a large instance (2.4 s for 2 million
//! access tokens), and read whole tables every five minutes to find them.
//! Each function here removes at most one batch and says where the next one
//! starts, so that housekeeping runs each batch as its own short job and
//! requests are served between them (`crate::housekeeping` drives them).
//!
//! Each table is walked in the order of a key that follows time, so a batch
//! reads only the rows it is about to judge:
//! - access tokens and codes are keyed by a time-ordered id
//!   (`secrets::ordered_id`), whose first 13 hex digits are the microsecond
//!   it was made: nothing made at or after the cut-off can have expired
//!   before it, so the walk stops at the cut-off's key;
//! - sessions and pending requests by their rowid, which grows with each
//!   insert;
//! - grants through the `grants_end` index on the time they ended.
//!
//! On PostgreSQL the same walks run over the same keys (the text keys
//! compare bytewise there too: their columns are `COLLATE "C"`), and over a
//! `seq` identity column where SQLite has its rowid.

use super::{Result, Tx, args};

/// What one batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<K> {
    /// Rows removed by this batch.
    pub removed: usize,
    /// Where the next batch starts; `None` when the walk is over.
    pub next: Option<K>,
}

/// The smallest time-ordered key made at or after `at` (Unix seconds).
fn ordered_key_at(at: i64) -> String {
    format!("{:013x}", at.max(0).saturating_mul(1_000_000))
}

/// A table walked by a text key: the first key of the batch after the
/// current one, and the deletion of the expired rows of a key range.
struct TextKeyed {
    next_start: &'static str,
    delete: &'static str,
}

const ACCESS_TOKENS: TextKeyed = TextKeyed {
    next_start: "SELECT jti FROM access_tokens WHERE jti >= ?1 AND jti < ?2 \
                 ORDER BY jti LIMIT 1 OFFSET ?3",
    delete: "DELETE FROM access_tokens WHERE jti >= ?1 AND jti < ?2 AND expires_at <= ?3",
};

const CODES: TextKeyed = TextKeyed {
    next_start: "SELECT id FROM auth_codes WHERE id >= ?1 AND id < ?2 \
                 ORDER BY id LIMIT 1 OFFSET ?3",
    delete: "DELETE FROM auth_codes WHERE id >= ?1 AND id < ?2 AND expires_at <= ?3",
};

/// Removes the rows that expired at or before `before` among the next
/// `limit` rows from key `from` (`""`: the first key).
fn text_keyed(
    tx: &Tx<'_>,
    table: &TextKeyed,
    from: &str,
    before: i64,
    limit: usize,
) -> Result<Batch<String>> {
    let end_of_walk = ordered_key_at(before);
    let next: Option<String> = tx.query_opt(
        table.next_start,
        args![from, end_of_walk, limit as i64],
        |row| row.get(0),
    )?;
    let end = next.as_deref().unwrap_or(&end_of_walk);
    let removed = tx.execute(table.delete, args![from, end, before])?;
    Ok(Batch { removed, next })
}

/// Access tokens that expired at or before `before`, among the next
/// `limit` from `from`.
pub fn access_tokens(tx: &Tx<'_>, from: &str, before: i64, limit: usize) -> Result<Batch<String>> {
    text_keyed(tx, &ACCESS_TOKENS, from, before, limit)
}

/// Codes that expired at or before `before` (used ones are kept that long
/// so that a replay is still recognised), among the next `limit` from
/// `from`.
pub fn codes(tx: &Tx<'_>, from: &str, before: i64, limit: usize) -> Result<Batch<String>> {
    text_keyed(tx, &CODES, from, before, limit)
}

/// A table walked by its rowid (`seq` on PostgreSQL).
struct RowKeyed {
    next_start: &'static str,
    delete: &'static str,
    pg_next_start: &'static str,
    pg_delete: &'static str,
}

const SESSIONS: RowKeyed = RowKeyed {
    next_start: "SELECT rowid FROM sessions WHERE rowid >= ?1 ORDER BY rowid LIMIT 1 OFFSET ?2",
    delete: "DELETE FROM sessions WHERE rowid >= ?1 AND rowid < ?2 \
             AND (idle_expires_at <= ?3 OR expires_at <= ?3)",
    pg_next_start: "SELECT seq FROM sessions WHERE seq >= $1 ORDER BY seq LIMIT 1 OFFSET $2",
    pg_delete: "DELETE FROM sessions WHERE seq >= $1 AND seq < $2 \
                AND (idle_expires_at <= $3 OR expires_at <= $3)",
};

const INTERACTIONS: RowKeyed = RowKeyed {
    next_start: "SELECT rowid FROM interactions WHERE rowid >= ?1 ORDER BY rowid LIMIT 1 OFFSET ?2",
    delete: "DELETE FROM interactions WHERE rowid >= ?1 AND rowid < ?2 AND expires_at <= ?3",
    pg_next_start: "SELECT seq FROM interactions WHERE seq >= $1 ORDER BY seq LIMIT 1 OFFSET $2",
    pg_delete: "DELETE FROM interactions WHERE seq >= $1 AND seq < $2 AND expires_at <= $3",
};

fn row_keyed(
    tx: &Tx<'_>,
    table: &RowKeyed,
    from: i64,
    now: i64,
    limit: usize,
) -> Result<Batch<i64>> {
    let next: Option<i64> = tx.query_opt(
        tx.pick(table.next_start, table.pg_next_start),
        args![from, limit as i64],
        |row| row.get(0),
    )?;
    let removed = tx.execute(
        tx.pick(table.delete, table.pg_delete),
        args![from, next.unwrap_or(i64::MAX), now],
    )?;
    Ok(Batch { removed, next })
}

/// Sessions past their idle or absolute end at `now`, among the next
/// `limit` from rowid `from` (0: the first).
pub fn sessions(tx: &Tx<'_>, from: i64, now: i64, limit: usize) -> Result<Batch<i64>> {
    row_keyed(tx, &SESSIONS, from, now, limit)
}

/// Pending requests expired at `now`, among the next `limit` from rowid
/// `from` (0: the first).
pub fn interactions(tx: &Tx<'_>, from: i64, now: i64, limit: usize) -> Result<Batch<i64>> {
    row_keyed(tx, &INTERACTIONS, from, now, limit)
}

/// Removes up to `limit` grants (with their refresh and access tokens)
/// ended at or before `before`: revoked, past the absolute end of their
/// refresh family, or — without a family — created then. Callers keep a
/// margin of at least the access-token lifetime, so no live access token
/// goes with them. Found through the `grants_end` index, oldest end first;
/// the walk is over when a batch removes fewer than `limit`.
pub fn grants(tx: &Tx<'_>, before: i64, limit: usize) -> Result<Batch<()>> {
    let removed = tx.execute(
        "DELETE FROM grants WHERE id IN (SELECT id FROM grants \
         WHERE COALESCE(revoked_at, expires_at, created_at) <= ?1 LIMIT ?2)",
        args![before, limit as i64],
    )?;
    Ok(Batch {
        removed,
        next: (removed >= limit).then_some(()),
    })
}

#[cfg(test)]
mod tests;
