//! `mail_requests`: one row per verification or reset mail a visitor asked
//! for (sent or not), counted by the abuse limits per address, per
//! (address, IP) and per IP.

use super::args;

use super::{Result, Tx};

pub fn record(tx: &Tx<'_>, address: &str, ip: &str, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO mail_requests (address, ip, created_at) VALUES (?1, ?2, ?3)",
        args![address, ip, now],
    )?;
    Ok(())
}

/// Requests for `address` since `since`.
pub fn for_address(tx: &Tx<'_>, address: &str, since: i64) -> Result<i64> {
    tx.query_one(
        "SELECT COUNT(*) FROM mail_requests WHERE address = ?1 AND created_at > ?2",
        args![address, since],
        |row| row.get(0),
    )
}

/// Requests for `address` from `ip` since `since`.
pub fn for_address_and_ip(tx: &Tx<'_>, address: &str, ip: &str, since: i64) -> Result<i64> {
    tx.query_one(
        "SELECT COUNT(*) FROM mail_requests \
             WHERE address = ?1 AND ip = ?2 AND created_at > ?3",
        args![address, ip, since],
        |row| row.get(0),
    )
}

/// Requests from `ip` since `since`.
pub fn for_ip(tx: &Tx<'_>, ip: &str, since: i64) -> Result<i64> {
    tx.query_one(
        "SELECT COUNT(*) FROM mail_requests WHERE ip = ?1 AND created_at > ?2",
        args![ip, since],
        |row| row.get(0),
    )
}

pub fn purge(tx: &Tx<'_>, before: i64) -> Result<usize> {
    tx.execute(
        "DELETE FROM mail_requests WHERE created_at < ?1",
        args![before],
    )
}
