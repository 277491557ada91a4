//! `mail_requests`: one row per verification or reset mail a visitor asked
//! for (sent or not), counted by the abuse limits per address and per IP.

use rusqlite::{Connection, params};

pub fn record(conn: &Connection, address: &str, ip: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO mail_requests (address, ip, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![address, ip, now])?;
    Ok(())
}

/// Requests for `address` since `since`.
pub fn for_address(conn: &Connection, address: &str, since: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM mail_requests WHERE address = ?1 AND created_at > ?2",
    )?
    .query_row(params![address, since], |row| row.get(0))
}

/// Requests from `ip` since `since`.
pub fn for_ip(conn: &Connection, ip: &str, since: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM mail_requests WHERE ip = ?1 AND created_at > ?2")?
        .query_row(params![ip, since], |row| row.get(0))
}

pub fn purge(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM mail_requests WHERE created_at < ?1")?
        .execute([before])
}
