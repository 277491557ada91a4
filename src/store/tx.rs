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
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use rusqlite::Connection;

use super::direct::{Capture, Prepared, prepared, remember};
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
/// Round trips are the cost, so what needs no answer yet is queued and sent
/// in the same round trip as the next statement whose answer is awaited
/// (the server runs them in order): transaction control (`BEGIN`,
/// savepoints, their release) and, inside a transaction, the writes whose
/// outcome the job does not read ([`Tx::write`]). A one-statement job in a
/// batch costs one round trip instead of three, the batch's `BEGIN` rides
/// with its first statement, and a token request's inserts ride with its
/// next read. A queued statement that fails aborts the transaction, so
/// everything behind it fails too, and its error is the one reported; the
/// database thread sends a job's queued writes with the job's end at the
/// latest, so their failure fails that job (`pg::run_batch`).
pub(super) struct PgConn {
    runtime: tokio::runtime::Runtime,
    client: Arc<tokio_postgres::Client>,
    pub(super) statements: Prepared,
    /// The rows of the running job's first read, sent ahead with the end
    /// of the job before it (`pg::run_batch`), until its first statement.
    pub(super) prefetched: Option<Prefetched>,
    /// Requests not sent yet, in order (writes, and control statements
    /// queued before a write).
    queued: Vec<Queued>,
    /// Control statements queued since the last of `queued`, `; `-separated.
    pending: String,
    /// A transaction is open (a batch of jobs, or a command's savepoint):
    /// savepoints nest in it instead of opening one, and writes may wait.
    pub(super) in_transaction: bool,
    /// Its batches hold the writers' lock shared (`pg::HotWriters`): a
    /// job that must take turns stops there (`Tx::in_turn`).
    pub(super) shared: bool,
}

/// A request waiting to be sent; it owns what it sends.
type Queued = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

/// A job's first read, sent with the end of the job before it, and its
/// answer (`pg::run_batch`).
pub(super) struct Prefetched {
    sql: String,
    params: Vec<Encoded>,
    rows: Vec<tokio_postgres::Row>,
}

/// A parameter already encoded for its statement's type, so that a queued
/// write owns its parameters. Never shows its bytes (they may be secrets).
#[derive(PartialEq, Eq)]
pub(super) struct Encoded(Option<bytes::Bytes>);

impl Encoded {
    /// Its bytes as sent; `None` for NULL.
    pub(super) fn bytes(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoded(..)")
    }
}

impl tokio_postgres::types::ToSql for Encoded {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        match &self.0 {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(tokio_postgres::types::IsNull::No)
            }
            None => Ok(tokio_postgres::types::IsNull::Yes),
        }
    }

    /// Checked when encoded, against the statement's own types.
    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
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
            client: Arc::new(client),
            statements: Prepared::default(),
            prefetched: None,
            queued: Vec::new(),
            pending: String::new(),
            in_transaction: false,
            shared: false,
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

    /// Whether writes are queued (the job's end must send them).
    pub(super) fn writes_queued(&self) -> bool {
        !self.queued.is_empty()
    }

    /// Moves the pending control statements into the queue, behind what
    /// is there. Called before anything is sent or queued, so it also ends
    /// a read sent ahead: that served the job's first statement only.
    fn seal(&mut self) {
        self.prefetched = None;
        if self.pending.is_empty() {
            return;
        }
        let sql = std::mem::take(&mut self.pending);
        let client = Arc::clone(&self.client);
        self.queued
            .push(Box::pin(async move { client.batch_execute(&sql).await }));
    }

    /// Sends what is queued and `sql` (several statements, no parameters)
    /// now, in one round trip.
    pub(super) fn batch(&mut self, sql: &str) -> Result<()> {
        self.defer(sql);
        self.flush()
    }

    /// Sends what is queued now, if anything; the first failure is the
    /// answer.
    pub(super) fn flush(&mut self) -> Result<()> {
        self.pipelined(|_| async { Ok(()) })
    }

    /// Runs `query` on the client after what is queued, in the same round
    /// trip (the client pipelines requests sent before their answers are
    /// awaited, in the order the futures are first polled: `join` and
    /// `join_all` poll theirs in order).
    fn pipelined<'a, T, F>(
        &'a mut self,
        query: impl FnOnce(&'a tokio_postgres::Client) -> F,
    ) -> Result<T>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + 'a,
    {
        Ok(self.pipelined_apart(query)??)
    }

    /// [`PgConn::pipelined`], with `query`'s own outcome kept apart: the
    /// outer error is the first of what was queued (`query` then did not
    /// run, the transaction being aborted).
    fn pipelined_apart<'a, T, F>(
        &'a mut self,
        query: impl FnOnce(&'a tokio_postgres::Client) -> F,
    ) -> Result<Result<T, tokio_postgres::Error>>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + 'a,
    {
        self.seal();
        let queued = std::mem::take(&mut self.queued);
        let client = &*self.client;
        let (before, result) = self.runtime.block_on(futures_util::future::join(
            futures_util::future::join_all(queued),
            query(client),
        ));
        for sent in before {
            sent?;
        }
        Ok(result)
    }

    /// The statement for `sql`, prepared on first use (server-side, so
    /// later uses send only its name and the parameters).
    pub(super) fn statement(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(statement) = prepared(&self.statements, sql) {
            return Ok(statement);
        }
        let text = placeholders(sql);
        let statement = self.pipelined(|client| client.prepare(&text))?;
        remember(&self.statements, sql, &statement);
        Ok(statement)
    }

    /// Sends what is queued (a job's writes, its release, the next job's
    /// savepoint) with `read` (the next job's first read) behind it, in one
    /// round trip. The first answer is whether what was queued went
    /// through; the read's rows are kept for the next job (`prefetched`)
    /// only when everything did.
    pub(super) fn flush_with_read(&mut self, read: super::direct::Read) -> Result<()> {
        let (sql, statement, params) = read;
        let rows = self.pipelined_apart(|client| {
            let (statement, params) = (&statement, &params);
            async move {
                let rows = client.query_raw(statement, params.iter()).await?;
                futures_util::TryStreamExt::try_collect::<Vec<_>>(rows).await
            }
        })?;
        // What was queued went through. A failed read is the next job's
        // own: the caller undoes it (`prefetched` left empty), and the job
        // meets it again when it reads itself.
        if let Ok(rows) = rows {
            self.prefetched = Some(Prefetched { sql, params, rows });
        }
        Ok(())
    }

    fn rows(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<Vec<tokio_postgres::Row>> {
        let ahead = self.prefetched.take();
        let statement = self.statement(sql)?;
        if let Some(ahead) = ahead
            && ahead.sql == sql
            && encode(&statement, sql, args).is_ok_and(|params| params == ahead.params)
        {
            return Ok(ahead.rows);
        }
        let params: Vec<_> = args.iter().map(|a| a.pg()).collect();
        self.pipelined(|client| async move { client.query(&statement, &params).await })
    }

    fn execute(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<u64> {
        let statement = self.statement(sql)?;
        let params: Vec<_> = args.iter().map(|a| a.pg()).collect();
        self.pipelined(|client| async move { client.execute(&statement, &params).await })
    }

    /// Queues a write whose outcome the job does not read (inside a
    /// transaction; outside one it runs at once, nothing else would send it).
    fn write(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<()> {
        if !self.in_transaction {
            return self.execute(sql, args).map(drop);
        }
        let statement = self.statement(sql)?;
        let params = encode(&statement, sql, args)?;
        self.seal();
        let client = Arc::clone(&self.client);
        self.queued.push(Box::pin(async move {
            client
                .execute_raw(&statement, params.iter())
                .await
                .map(drop)
        }));
        // `join_all` polls a short list in order; keep it short.
        if self.queued.len() >= 16 {
            self.flush()?;
        }
        Ok(())
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
        let client = Arc::get_mut(&mut self.client)
            .ok_or_else(|| Error::Internal("database: the client is shared".into()))?;
        self.runtime.block_on(f(client))
    }
}

/// `args` encoded for `statement` (prepared from `sql`), so that they can
/// be sent later without borrowing them.
pub(super) fn encode(
    statement: &tokio_postgres::Statement,
    sql: &str,
    args: &[&dyn Arg],
) -> Result<Vec<Encoded>> {
    let types = statement.params();
    if types.len() != args.len() {
        return Err(Error::Internal(format!(
            "{} parameters for {} in {sql}",
            args.len(),
            types.len()
        )));
    }
    let mut params = Vec::with_capacity(args.len());
    for (arg, ty) in args.iter().zip(types) {
        let mut out = bytes::BytesMut::new();
        let null = arg
            .pg()
            .to_sql_checked(ty, &mut out)
            .map_err(|e| Error::Internal(format!("cannot encode a parameter of {sql}: {e}")))?;
        params.push(Encoded(match null {
            tokio_postgres::types::IsNull::Yes => None,
            tokio_postgres::types::IsNull::No => Some(out.freeze()),
        }));
    }
    Ok(params)
}

/// `columns` (`a, b, …`), each prefixed with `alias.` for a join.
pub(super) fn prefixed(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|column| format!("{alias}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?N` placeholders (SQLite's) as `$N` (PostgreSQL's).
pub(super) fn placeholders(sql: &str) -> String {
    placeholders_as(sql, "$")
}

/// `?N` placeholders as `{prefix}N`.
pub(super) fn placeholders_as(sql: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str(prefix);
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
    /// A one-statement job, captured (`direct`).
    Direct(&'c RefCell<Capture>),
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

    pub(super) fn direct(capture: &'c RefCell<Capture>) -> Tx<'c> {
        Tx {
            conn: Conn::Direct(capture),
        }
    }

    /// Stops a job that runs beside other writers (PostgreSQL's hot
    /// writers) where it is about to change what only jobs taking turns
    /// may change: it then runs again on the database thread.
    pub(super) fn in_turn(&self) -> Result<()> {
        match self.conn {
            Conn::Pg(conn) if conn.borrow().shared => Err(Error::InTurn),
            _ => Ok(()),
        }
    }

    /// Whether this is PostgreSQL (for what only one backend has).
    pub(super) fn is_postgres(&self) -> bool {
        !matches!(self.conn, Conn::Lite(_))
    }

    /// The SQL text for this backend, where the dialects differ.
    pub(super) fn pick<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self.conn {
            Conn::Lite(_) => sqlite,
            Conn::Pg(_) | Conn::Direct(_) => postgres,
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
            Conn::Direct(capture) => Err(capture.borrow_mut().writes()),
        }
    }

    /// Runs one statement whose outcome the job does not read (an insert
    /// of a new row): on PostgreSQL, inside a job, it is sent with the
    /// job's next statement or its end (see [`PgConn`]); if it fails, the
    /// job fails. On SQLite it runs at once.
    pub(super) fn write(&self, sql: &str, args: &[&dyn Arg]) -> Result<()> {
        match self.conn {
            Conn::Lite(_) => self.execute(sql, args).map(drop),
            Conn::Pg(conn) => conn.borrow_mut().write(sql, args),
            Conn::Direct(capture) => capture.borrow_mut().write(sql, args),
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
            Conn::Direct(capture) => {
                let mut capture = capture.borrow_mut();
                let rows = capture.rows(sql, args)?;
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
            Conn::Direct(capture) => {
                let mut capture = capture.borrow_mut();
                let rows = capture.rows(sql, args)?;
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
            Conn::Direct(capture) => capture.borrow_mut().control()?,
        }
        Ok(())
    }

    /// Ends a command's own PostgreSQL transaction, now: deferred, the
    /// statements after it would run inside it.
    fn end(&self, sql: &str) -> Result<()> {
        match self.conn {
            Conn::Lite(_) | Conn::Direct(_) => self.control(sql),
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
            Conn::Lite(_) | Conn::Direct(_) => false,
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
            Conn::Direct(capture) => Err(capture.borrow_mut().writes()),
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
            Conn::Direct(capture) => Err(capture.borrow_mut().more()),
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

    #[test]
    fn columns_are_prefixed_for_a_join_whatever_the_spacing() {
        assert_eq!(
            super::prefixed("id, sub,\n     scopes", "g"),
            "g.id, g.sub, g.scopes"
        );
    }
}
