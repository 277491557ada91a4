//! The store's own handle on the database, the only thing domain code holds.
//!
//! A [`Tx`] is what every store function takes. On the server it is the
//! transaction of the job `Store::run` is running (inside that job's
//! savepoint, see `run_batch`); for a one-off command it is the [`Db`]'s
//! connection, where each statement commits on its own. Its connection is
//! private to `store`, so the domain cannot run SQL nor name the database
//! library: a second backend only has to give `Tx` another variant.

use std::ops::Deref;

use rusqlite::Connection;

use super::Result;

/// A handle on the database for the length of one job.
#[derive(Clone, Copy)]
pub struct Tx<'c> {
    pub(super) conn: &'c Connection,
}

impl<'c> Tx<'c> {
    pub(super) fn new(conn: &'c Connection) -> Tx<'c> {
        Tx { conn }
    }

    /// Opens a nested savepoint: what is written through it is undone when
    /// it is dropped without [`Savepoint::commit`]. A domain function that
    /// refuses a request after some writes drops it; one that must keep a
    /// write while refusing (a replayed code revokes its grant) commits it.
    pub fn savepoint(&self) -> Result<Savepoint<'c>> {
        exec(self.conn, "SAVEPOINT step")?;
        Ok(Savepoint {
            tx: Tx { conn: self.conn },
            open: true,
        })
    }

    /// Runs one SQL statement without parameters; returns the rows changed.
    /// For integration tests that age or clear rows, which have no store
    /// function of their own: domain code calls store functions instead.
    #[doc(hidden)]
    pub fn execute_sql(&self, sql: &str) -> Result<usize> {
        Ok(self.conn.execute(sql, [])?)
    }

    /// The integer in the first column of the first row of `sql` (a count,
    /// for integration tests); see [`Tx::execute_sql`].
    #[doc(hidden)]
    pub fn query_i64(&self, sql: &str) -> Result<i64> {
        Ok(self.conn.query_row(sql, [], |row| row.get(0))?)
    }
}

/// A savepoint within a [`Tx`]; derefs to the `Tx` so that store functions
/// run inside it.
pub struct Savepoint<'c> {
    tx: Tx<'c>,
    open: bool,
}

impl Savepoint<'_> {
    /// Keeps what was written since the savepoint (it still commits or not
    /// with the enclosing transaction).
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        exec(self.tx.conn, "RELEASE step")
    }
}

impl<'c> Deref for Savepoint<'c> {
    type Target = Tx<'c>;

    fn deref(&self) -> &Tx<'c> {
        &self.tx
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            let undone = exec(self.tx.conn, "ROLLBACK TO step")
                .and_then(|()| exec(self.tx.conn, "RELEASE step"));
            if let Err(e) = undone {
                tracing::error!(error = %e, "database: cannot undo a savepoint");
            }
        }
    }
}

/// Runs a savepoint statement, prepared once.
fn exec(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// An open database owned by a one-off command (the CLI), or by a unit test.
pub struct Db {
    conn: Connection,
}

impl Db {
    pub(super) fn new(conn: Connection) -> Db {
        Db { conn }
    }

    /// The handle store functions take; each statement commits on its own
    /// unless a [`Savepoint`] groups them.
    pub fn tx(&self) -> Tx<'_> {
        Tx::new(&self.conn)
    }

    /// The connection itself, for tests that look at rows directly.
    #[cfg(test)]
    pub(crate) fn sql(&self) -> &Connection {
        &self.conn
    }
}
