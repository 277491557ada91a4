//! SQLite storage: a small pool of connections used only off the async
//! executor, the embedded migrations, and one module per table group.
//!
//! Every store function is a plain function over a `&Connection` so that the
//! CLI can call it directly and a PostgreSQL backend can later mirror it.

pub mod backchannel;
pub mod consents;
pub mod email_tokens;
pub mod grants;
pub mod interactions;
pub mod mail_queue;
pub mod mail_requests;
pub mod sessions;
pub mod users;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

/// Migrations, applied in order at start; `user_version` records the last one.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("../../migrations/0001_core.sql")),
    (
        "0002_accounts",
        include_str!("../../migrations/0002_accounts.sql"),
    ),
    (
        "0003_logout",
        include_str!("../../migrations/0003_logout.sql"),
    ),
];

const POOL_SIZE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database worker stopped")]
    Worker,
}

/// Handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Pool>,
}

struct Pool {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

/// A connection taken from the pool; it goes back on drop, even if the
/// request that asked for it was cancelled or the closure panicked.
struct Lease {
    pool: Arc<Pool>,
    conn: Option<Connection>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.pool.idle.lock()) {
            idle.push(conn);
        }
    }
}

impl Store {
    /// Opens (creating if needed) `dir/sesame.db`, applies the migrations and
    /// opens the pool.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("sesame.db");
        let mut first = open_connection(&path)?;
        migrate(&mut first)?;
        let mut idle = vec![first];
        for _ in 1..POOL_SIZE {
            idle.push(open_connection(&path)?);
        }
        Ok(Store {
            inner: Arc::new(Pool {
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(POOL_SIZE)),
            }),
        })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool. The
    /// permit and the connection live inside the blocking task, so a
    /// cancelled request never loses a connection.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Worker)?;
        let pool = self.inner.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut lease = Lease { pool, conn };
            lease.conn.as_mut().map(f)
        })
        .await
        .map_err(|_| StoreError::Worker)?;
        Ok(result.ok_or(StoreError::Worker)??)
    }
}

/// Opens one connection with the settings every connection needs.
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every transaction takes the write lock at BEGIN, where SQLite waits
    // for it (busy_timeout); a deferred one that reads then writes would get
    // SQLITE_BUSY at once if another connection committed in between.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Opens the database for a one-off command (CLI), migrated.
pub fn open_for_cli(dir: &Path) -> Result<Connection, StoreError> {
    let mut conn = open_connection(&dir.join("sesame.db"))?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, (_name, sql)) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn memory() -> Connection {
    let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("pragma");
    migrate(&mut conn).expect("migrations apply");
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancelled_requests_do_not_lose_connections() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for _ in 0..(POOL_SIZE * 3) {
            let slow = store.run(|conn| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            });
            // Dropped before completion, as when a client disconnects.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(1), slow).await;
        }
        for _ in 0..(POOL_SIZE * 2) {
            let one = store
                .run(|conn| conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
                .await
                .unwrap();
            assert_eq!(one, 1);
        }
    }
}
