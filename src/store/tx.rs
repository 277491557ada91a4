//! The store's own handle on the database, the only thing domain code holds.
//!
//! A [`Tx`] is what every store function takes. On the server it is the
//! transaction of the job `Store::run` is running (inside that job's
//! savepoint, see `run_batch`); for a one-off command it is the [`Db`]'s
//! connection, where each statement commits on its own. Its connection is
//! private to `store`, so the domain cannot run SQL nor name the database
//! library.
//!
//! Two backends answer behind it: SQLite (the default) and PostgreSQL
//! (`database_url`). Store functions run one SQL text on both where the
//! dialects agree (`?1` placeholders become `$1` for PostgreSQL when a
//! statement is first prepared) and pick a text per backend with
//! [`Tx::pick`] where they do not. The SQLite arm calls rusqlite exactly as
//! before: cached statements, parameters passed by reference.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Deref;

use rusqlite::Connection;

use super::{Error, Result};

/// A value a statement takes as a parameter, on either backend.
pub trait Arg: Sync {
    fn lite(&self) -> &dyn rusqlite::ToSql;
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync> Arg for T {
    fn lite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        self
    }
}

/// A value a statement returns in a column, on either backend.
pub trait Value: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> {}

impl<T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>> Value for T {}

/// The parameters of a statement, as `rusqlite::params!` took them.
macro_rules! args {
    ($($x:expr),* $(,)?) => {
        &[$(&$x as &dyn $crate::store::Arg),*] as &[&dyn $crate::store::Arg]
    };
}
pub(crate) use args;

/// One row of a result, on either backend.
pub enum Row<'a, 'b> {
    Lite(&'a rusqlite::Row<'b>),
    Pg(&'a tokio_postgres::Row),
}

impl Row<'_, '_> {
    /// The value of column `index` (from 0).
    pub fn get<T: Value>(&self, index: usize) -> Result<T> {
        match self {
            Row::Lite(row) => Ok(row.get(index)?),
            Row::Pg(row) => Ok(row.try_get(index)?),
        }
    }
}

/// A PostgreSQL connection with its prepared statements, held by one
/// thread (the server's database thread, or a one-off command), which
/// drives the asynchronous client on a runtime of its own.
///
/// Transaction control (`BEGIN`, savepoints, their release) is deferred and
/// sent in the same round trip as the next statement: the server runs the
/// two in order, so a one-statement job in a batch costs one round trip
/// instead of three, and the batch's `BEGIN` rides with its first
/// statement. A deferred statement that fails aborts the transaction, so
/// the statement after it fails too, and its error is the one reported.
pub(super) struct PgConn {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    statements: HashMap<String, tokio_postgres::Statement>,
    /// Control statements not sent yet, `; `-separated.
    pending: String,
    /// A transaction is open (a batch of jobs, or a command's savepoint):
    /// savepoints nest in it instead of opening one.
    pub(super) in_transaction: bool,
}

impl PgConn {
    /// Connects to `config`; the connection's task runs on `runtime`
    /// whenever this thread waits for an answer.
    pub(super) fn connect(config: &tokio_postgres::Config) -> Result<PgConn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("database: cannot start its runtime: {e}")))?;
        let (client, connection) = runtime.block_on(config.connect(tokio_postgres::NoTls))?;
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(error = %e, "database: connection lost");
            }
        });
        Ok(PgConn {
            runtime,
            client,
            statements: HashMap::new(),
            pending: String::new(),
            in_transaction: false,
        })
    }

    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Queues a control statement, sent ahead of the next statement.
    pub(super) fn defer(&mut self, sql: &str) {
        if sql.is_empty() {
            return;
        }
        if !self.pending.is_empty() {
            self.pending.push_str("; ");
        }
        self.pending.push_str(sql);
    }

    /// Sends what is queued and `sql` (several statements, no parameters)
    /// now, in one round trip.
    pub(super) fn batch(&mut self, sql: &str) -> Result<()> {
        self.defer(sql);
        self.flush()
    }

    /// Sends what is queued now, if anything.
    pub(super) fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sql = std::mem::take(&mut self.pending);
        Ok(self.runtime.block_on(self.client.batch_execute(&sql))?)
    }

    /// Runs `query` on the client after what is queued, in the same round
    /// trip (the client pipelines requests sent before their answers are
    /// awaited, in the order the futures are first polled: `join` polls its
    /// first future first).
    fn pipelined<'a, T, F>(
        &'a mut self,
        query: impl FnOnce(&'a tokio_postgres::Client) -> F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>> + 'a,
    {
        let pending = std::mem::take(&mut self.pending);
        let client = &self.client;
        let (before, result) = self.runtime.block_on(async {
            let before = async {
                if pending.is_empty() {
                    Ok(())
                } else {
                    client.batch_execute(&pending).await
                }
            };
            futures_util::future::join(before, query(client)).await
        });
        before?;
        Ok(result?)
    }

    /// The statement for `sql`, prepared on first use (server-side, so
    /// later uses send only its name and the parameters).
    fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let text = placeholders(sql);
        let statement = self.pipelined(|client| client.prepare(&text))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn rows(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<Vec<tokio_postgres::Row>> {
        let statement = self.statement(sql)?;
        let params: Vec<_> = args.iter().map(|a| a.pg()).collect();
        self.pipelined(|client| async move { client.query(&statement, &params).await })
    }

    fn execute(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<u64> {
        let statement = self.statement(sql)?;
        let params: Vec<_> = args.iter().map(|a| a.pg()).collect();
        self.pipelined(|client| async move { client.execute(&statement, &params).await })
    }

    /// Runs `sql` unprepared, without parameters (tests, one-off commands).
    fn rows_unprepared(&mut self, sql: &str) -> Result<Vec<tokio_postgres::Row>> {
        self.pipelined(|client| client.query(sql, &[]))
    }

    /// Runs `f` with the client, on this connection's runtime, after
    /// sending what is queued (migrations).
    pub(super) fn with_client<T>(
        &mut self,
        f: impl AsyncFnOnce(&mut tokio_postgres::Client) -> Result<T>,
    ) -> Result<T> {
        self.flush()?;
        let client = &mut self.client;
        self.runtime.block_on(f(client))
    }
}

/// `?N` placeholders (SQLite's) as `$N` (PostgreSQL's).
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Which database a [`Tx`] talks to.
#[derive(Clone, Copy)]
pub(super) enum Conn<'c> {
    Lite(&'c Connection),
    Pg(&'c RefCell<PgConn>),
}

/// A handle on the database for the length of one job.
#[derive(Clone, Copy)]
pub struct Tx<'c> {
    pub(super) conn: Conn<'c>,
}

impl<'c> Tx<'c> {
    pub(super) fn new(conn: &'c Connection) -> Tx<'c> {
        Tx {
            conn: Conn::Lite(conn),
        }
    }

    pub(super) fn pg(conn: &'c RefCell<PgConn>) -> Tx<'c> {
        Tx {
            conn: Conn::Pg(conn),
        }
    }

    /// Whether this is PostgreSQL (for what only one backend has).
    pub(super) fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Pg(_))
    }

    /// The SQL text for this backend, where the dialects differ.
    pub(super) fn pick<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self.conn {
            Conn::Lite(_) => sqlite,
            Conn::Pg(_) => postgres,
        }
    }

    /// Runs one statement; returns the rows it changed.
    pub(super) fn execute(&self, sql: &str, args: &[&dyn Arg]) -> Result<usize> {
        match self.conn {
            Conn::Lite(conn) => Ok(conn
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args.iter().map(|a| a.lite())))?),
            Conn::Pg(conn) => {
                let changed = conn.borrow_mut().execute(sql, args)?;
                Ok(usize::try_from(changed).unwrap_or(usize::MAX))
            }
        }
    }

    /// The first row of `sql` through `f`, if there is one.
    pub(super) fn query_opt<T>(
        &self,
        sql: &str,
        args: &[&dyn Arg],
        f: impl FnOnce(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.conn {
            Conn::Lite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows =
                    statement.query(rusqlite::params_from_iter(args.iter().map(|a| a.lite())))?;
                match rows.next()? {
                    Some(row) => f(&Row::Lite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Conn::Pg(conn) => {
                let rows = conn.borrow_mut().rows(sql, args)?;
                rows.first().map(|row| f(&Row::Pg(row))).transpose()
            }
        }
    }

    /// The first row of `sql` through `f`; an error when there is none.
    pub(super) fn query_one<T>(
        &self,
        sql: &str,
        args: &[&dyn Arg],
        f: impl FnOnce(&Row<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, args, f)?
            .ok_or_else(|| Error::Internal(format!("no row from {sql}")))
    }

    /// Every row of `sql` through `f`.
    pub(super) fn query_all<T>(
        &self,
        sql: &str,
        args: &[&dyn Arg],
        mut f: impl FnMut(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self.conn {
            Conn::Lite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows =
                    statement.query(rusqlite::params_from_iter(args.iter().map(|a| a.lite())))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(f(&Row::Lite(row))?);
                }
                Ok(out)
            }
            Conn::Pg(conn) => {
                let rows = conn.borrow_mut().rows(sql, args)?;
                rows.iter().map(|row| f(&Row::Pg(row))).collect()
            }
        }
    }

    /// Runs a transaction-control statement; on PostgreSQL it is deferred
    /// to the next statement's round trip (see [`PgConn`]).
    fn control(&self, sql: &str) -> Result<()> {
        match self.conn {
            Conn::Lite(conn) => {
                conn.prepare_cached(sql)?.execute([])?;
            }
            Conn::Pg(conn) => conn.borrow_mut().defer(sql),
        }
        Ok(())
    }

    /// Ends a command's own PostgreSQL transaction, now: deferred, the
    /// statements after it would run inside it.
    fn end(&self, sql: &str) -> Result<()> {
        match self.conn {
            Conn::Lite(_) => self.control(sql),
            Conn::Pg(conn) => conn.borrow_mut().batch(sql),
        }
    }

    /// Opens a nested savepoint: what is written through it is undone when
    /// it is dropped without [`Savepoint::commit`]. A domain function that
    /// refuses a request after some writes drops it; one that must keep a
    /// write while refusing (a replayed code revokes its grant) commits it.
    pub fn savepoint(&self) -> Result<Savepoint<'c>> {
        // PostgreSQL has no savepoint outside a transaction (a one-off
        // command's statements each commit on their own): there the
        // savepoint is a transaction, under the writers' lock.
        let top = match self.conn {
            Conn::Pg(conn) => !conn.borrow().in_transaction,
            Conn::Lite(_) => false,
        };
        if top {
            self.control(super::pg::BEGIN_WRITES)?;
            self.set_in_transaction(true);
        } else {
            self.control("SAVEPOINT step")?;
        }
        Ok(Savepoint {
            tx: *self,
            open: true,
            top,
        })
    }

    fn set_in_transaction(&self, open: bool) {
        if let Conn::Pg(conn) = self.conn {
            conn.borrow_mut().in_transaction = open;
        }
    }

    /// Runs one SQL statement without parameters; returns the rows changed.
    /// For integration tests that age or clear rows, which have no store
    /// function of their own: domain code calls store functions instead.
    #[doc(hidden)]
    pub fn execute_sql(&self, sql: &str) -> Result<usize> {
        match self.conn {
            Conn::Lite(conn) => Ok(conn.execute(sql, [])?),
            Conn::Pg(conn) => {
                let changed = conn
                    .borrow_mut()
                    .pipelined(|client| client.execute(sql, &[]))?;
                Ok(usize::try_from(changed).unwrap_or(usize::MAX))
            }
        }
    }

    /// The integer in the first column of the first row of `sql` (a count,
    /// for integration tests); see [`Tx::execute_sql`].
    #[doc(hidden)]
    pub fn query_i64(&self, sql: &str) -> Result<i64> {
        match self.conn {
            Conn::Lite(conn) => Ok(conn.query_row(sql, [], |row| row.get(0))?),
            Conn::Pg(conn) => {
                let rows = conn.borrow_mut().rows_unprepared(sql)?;
                let row = rows
                    .first()
                    .ok_or_else(|| Error::Internal(format!("no row from {sql}")))?;
                Ok(row.try_get(0)?)
            }
        }
    }
}

/// A savepoint within a [`Tx`]; derefs to the `Tx` so that store functions
/// run inside it.
pub struct Savepoint<'c> {
    tx: Tx<'c>,
    open: bool,
    /// A PostgreSQL transaction of its own (see [`Tx::savepoint`]).
    top: bool,
}

impl Savepoint<'_> {
    /// Keeps what was written since the savepoint (it still commits or not
    /// with the enclosing transaction).
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        if self.top {
            self.tx.set_in_transaction(false);
            self.tx.end("COMMIT")
        } else {
            self.tx.control("RELEASE step")
        }
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
        if !self.open {
            return;
        }
        let undone = if self.top {
            self.tx.set_in_transaction(false);
            self.tx.end("ROLLBACK")
        } else {
            self.tx
                .control("ROLLBACK TO step")
                .and_then(|()| self.tx.control("RELEASE step"))
        };
        if let Err(e) = undone {
            tracing::error!(error = %e, "database: cannot undo a savepoint");
        }
    }
}

/// An open database owned by a one-off command (the CLI), or by a unit test.
pub struct Db {
    conn: DbConn,
}

enum DbConn {
    Lite(Connection),
    Pg(Box<RefCell<PgConn>>),
}

impl Db {
    pub(super) fn new(conn: Connection) -> Db {
        Db {
            conn: DbConn::Lite(conn),
        }
    }

    pub(super) fn pg(conn: PgConn) -> Db {
        Db {
            conn: DbConn::Pg(Box::new(RefCell::new(conn))),
        }
    }

    /// The handle store functions take; each statement commits on its own
    /// unless a [`Savepoint`] groups them.
    pub fn tx(&self) -> Tx<'_> {
        match &self.conn {
            DbConn::Lite(conn) => Tx::new(conn),
            DbConn::Pg(conn) => Tx::pg(conn),
        }
    }

    /// Opens a transaction holding the writers' lock, so that the server's
    /// jobs wait (a stuck maintenance job, in tests of readiness); ended by
    /// `execute_sql("ROLLBACK")`.
    #[doc(hidden)]
    pub fn hold_writes(&self) -> Result<()> {
        match &self.conn {
            DbConn::Lite(conn) => conn.execute_batch("BEGIN EXCLUSIVE")?,
            DbConn::Pg(conn) => conn.borrow_mut().batch(super::pg::BEGIN_WRITES)?,
        }
        Ok(())
    }

    /// The connection itself, for tests that look at rows directly.
    #[cfg(test)]
    pub(crate) fn sql(&self) -> &Connection {
        match &self.conn {
            DbConn::Lite(conn) => conn,
            DbConn::Pg(_) => unreachable!("unit tests run on SQLite"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_the_postgresql_way() {
        assert_eq!(
            super::placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12 AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 AND d = '?'"
        );
    }
}
