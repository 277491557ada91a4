//! `throttle`: one counter per key (a submitted address, a client address,
//! …), read and written by `accounts::throttle` inside the job of the
//! request it judges, so a check and its count are one atomic step.

use super::args;

use super::{Result, Tx};

/// A counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub count: i64,
    /// Start of the current run of failures, or of the current window.
    pub since: i64,
    /// Attempts before this time are refused unchecked.
    pub blocked_until: i64,
}

pub fn get(tx: &Tx<'_>, key: &str) -> Result<Option<Counter>> {
    tx.query_opt(
        "SELECT count, since, blocked_until FROM throttle WHERE key = ?1",
        args![key],
        |row| {
            Ok(Counter {
                count: row.get(0)?,
                since: row.get(1)?,
                blocked_until: row.get(2)?,
            })
        },
    )
}

/// [`get`], to change it: only in a job that takes turns with the other
/// writers (`Tx::in_turn`; PostgreSQL's hot writers run such a job again
/// on the database thread), so that a check and its count are one step on
/// every node, and no counter's row is ever held by jobs running side by
/// side, where a flood from two addresses could make their batches wait
/// for each other.
pub fn get_to_change(tx: &Tx<'_>, key: &str) -> Result<Option<Counter>> {
    tx.in_turn()?;
    get(tx, key)
}

pub fn put(tx: &Tx<'_>, key: &str, counter: Counter) -> Result<()> {
    tx.execute(
        "INSERT INTO throttle (key, count, since, blocked_until) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (key) DO UPDATE SET count = ?2, since = ?3, blocked_until = ?4",
        args![key, counter.count, counter.since, counter.blocked_until],
    )?;
    Ok(())
}

pub fn delete(tx: &Tx<'_>, key: &str) -> Result<()> {
    tx.execute("DELETE FROM throttle WHERE key = ?1", args![key])?;
    Ok(())
}

/// Removes counters whose block ended and whose last activity is older
/// than `before` (housekeeping; they would be reset on their next use).
pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    tx.execute(
        "DELETE FROM throttle WHERE blocked_until < ?1 AND since < ?1",
        args![before],
    )
}
