//! `audit`: the security events of docs/operations.md, appended by
//! `accounts::audit` and read back by `sesame audit` and the account space.

use super::{Row, args};

use super::{Result, Tx};

/// One recorded event. No field ever holds a password, a code or a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub at: i64,
    pub kind: String,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// Which events to read: all of them, narrowed by each field that is set.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub since: Option<i64>,
    /// Most events returned (the newest ones).
    pub limit: Option<i64>,
}

pub fn insert(tx: &Tx<'_>, e: &Event) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (at, kind, sub, client_id, address, user_agent, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            e.at,
            e.kind,
            e.sub,
            e.client_id,
            e.address,
            e.user_agent,
            e.detail
        ],
    )?;
    Ok(())
}

fn from_row(row: &Row<'_, '_>) -> Result<Event> {
    Ok(Event {
        at: row.get(0)?,
        kind: row.get(1)?,
        sub: row.get(2)?,
        client_id: row.get(3)?,
        address: row.get(4)?,
        user_agent: row.get(5)?,
        detail: row.get(6)?,
    })
}

/// The events `filter` selects, newest first.
pub fn list(tx: &Tx<'_>, filter: &Filter) -> Result<Vec<Event>> {
    // PostgreSQL types each parameter once, and reads LIMIT NULL as no limit.
    let sql = tx.pick(
        "SELECT at, kind, sub, client_id, address, user_agent, detail FROM audit \
         WHERE (?1 IS NULL OR sub = ?1) AND (?2 IS NULL OR client_id = ?2) \
         AND at >= coalesce(?3, 0) ORDER BY id DESC LIMIT coalesce(?4, -1)",
        "SELECT at, kind, sub, client_id, address, user_agent, detail FROM audit \
         WHERE ($1::text IS NULL OR sub = $1::text) AND ($2::text IS NULL OR client_id = $2::text) \
         AND at >= coalesce($3::bigint, 0) ORDER BY id DESC LIMIT $4::bigint",
    );
    tx.query_all(
        sql,
        args![filter.sub, filter.client_id, filter.since, filter.limit],
        from_row,
    )
}

/// Deletes at most `batch` events older than `before` (small batches keep
/// the database thread free for requests); returns how many.
pub fn purge(tx: &Tx<'_>, before: i64, batch: i64) -> Result<usize> {
    tx.execute(
        "DELETE FROM audit WHERE id IN \
             (SELECT id FROM audit WHERE at < ?1 ORDER BY at LIMIT ?2)",
        args![before, batch],
    )
}
