//! `throttle`: one counter per key (a submitted address, a client address,
//! …), read and written by `accounts::throttle` inside the job of the
//! request it judges, so a check and its count are one atomic step.

use super::args;

use super::{Result, Row, Tx};

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
    tx.query_opt(GET, args![key], counter)
}

const GET: &str = get_sql!();

macro_rules! get_sql {
    () => {
        "SELECT count, since, blocked_until FROM throttle WHERE key = ?1"
    };
}
use get_sql;

fn counter(row: &Row<'_, '_>) -> Result<Counter> {
    Ok(Counter {
        count: row.get(0)?,
        since: row.get(1)?,
        blocked_until: row.get(2)?,
    })
}

/// [`get`], to change it: on PostgreSQL the row stays locked until the
/// job's batch ends, so that jobs running side by side (hot writers,
/// `pg`) count one after the other.
pub fn get_to_change(tx: &Tx<'_>, key: &str) -> Result<Option<Counter>> {
    tx.query_opt(
        tx.pick(GET, concat!(get_sql!(), " FOR UPDATE")),
        args![key],
        counter,
    )
}

/// Stores a new counter; false if one exists (created meanwhile on another
/// connection, PostgreSQL).
pub fn create(tx: &Tx<'_>, key: &str, counter: Counter) -> Result<bool> {
    Ok(tx.execute(
        "INSERT INTO throttle (key, count, since, blocked_until) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (key) DO NOTHING",
        args![key, counter.count, counter.since, counter.blocked_until],
    )? == 1)
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
