//! On PostgreSQL, the hot one-statement jobs go straight from the
//! request's task to the database, on the async runtime: no hop to a
//! database thread and back, and the connections are shared, so the
//! statements of concurrent requests share their round trips (the client
//! pipelines them).
//!
//! The domain's jobs are plain functions over a [`Tx`] that wait for each
//! statement's rows, which a task on the runtime cannot do. So the job runs
//! in *capture* mode: its first statement is not sent but noted, and the
//! job stops there ([`Error::Pending`]); the statement runs (asynchronously)
//! and the job runs again, now handed that statement's rows. A job fit for
//! this path runs one statement ([`Store::read`]: a read, answered from one
//! state of the database; [`Store::insert`]: an insert of a new row, which
//! needs neither a transaction nor the writers' lock, since no other job
//! can have read that row or be writing it). A job that turns out to need
//! more is run again, from the start, where every job runs: nothing was
//! written. This is why both take a job that can run more than once
//! (`Fn`): it must not act but through its `Tx` (random identifiers it
//! draws again each time are fine: only the last run's are written).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::sync::oneshot;
use tokio_postgres::types::ToSql;

use super::shared_reads::{self, Column, Next, SharedReads, Waiting};
use super::tx::{Arg, Encoded, Tx, encode, placeholders};
use super::{Error, Result};

/// Connections shared by the tasks that send one-statement jobs.
pub(super) struct Direct {
    config: tokio_postgres::Config,
    slots: Vec<Slot>,
    next: AtomicUsize,
    /// Reads waiting to share a statement with others (`shared_reads`).
    reads: SharedReads,
}

/// One connection, opened on first use and again once lost.
#[derive(Default)]
struct Slot {
    live: RwLock<Option<Arc<Shared>>>,
    /// Held while connecting, so that a lost connection is opened once.
    connecting: tokio::sync::Mutex<()>,
}

/// The statements a connection prepared, by their SQL text.
pub(super) type Prepared = Arc<Mutex<HashMap<String, tokio_postgres::Statement>>>;

/// The statement prepared for `sql`, if it was.
pub(super) fn prepared(statements: &Prepared, sql: &str) -> Option<tokio_postgres::Statement> {
    let statements = statements.lock().unwrap_or_else(PoisonError::into_inner);
    statements.get(sql).cloned()
}

/// Remembers `statement`, just prepared for `sql`.
pub(super) fn remember(statements: &Prepared, sql: &str, statement: &tokio_postgres::Statement) {
    statements
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(sql.to_owned(), statement.clone());
}

/// A client and the statements it prepared.
pub(super) struct Shared {
    client: tokio_postgres::Client,
    statements: Prepared,
}

impl Shared {
    /// `sql`'s statement, prepared on this connection if it was not yet.
    async fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(statement) = prepared(&self.statements, sql) {
            return Ok(statement);
        }
        let statement = self.client.prepare(&placeholders(sql)).await?;
        remember(&self.statements, sql, &statement);
        Ok(statement)
    }
}

/// A job's first read: its SQL text, its statement and its parameters.
pub(super) type Read = (String, tokio_postgres::Statement, Vec<Encoded>);

/// Runs `job` up to its first statement, on a connection that prepared
/// `statements`: that statement, if it is a read already prepared there.
pub(super) fn first_read(statements: &Prepared, job: &dyn Fn(&Tx<'_>)) -> Option<Read> {
    let mut capture = Capture::new(Arc::clone(statements), Mode::Read, Vec::new());
    capture.ahead = true;
    let capture = RefCell::new(capture);
    job(&Tx::direct(&capture));
    match capture.into_inner().need {
        Some(Need::Rows(sql, statement, params)) => Some((sql, statement, params)),
        Some(Need::Prepare(_) | Need::More) | None => None,
    }
}

impl Direct {
    /// `connections` connections to `config`'s database, opened on demand.
    pub(super) fn new(config: tokio_postgres::Config, connections: usize) -> Direct {
        Direct {
            config,
            slots: (0..connections.max(1)).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
            reads: SharedReads::default(),
        }
    }

    /// The next connection in turn, (re)connected if needed; its task
    /// runs on the caller's runtime.
    async fn connection(&self) -> Result<Arc<Shared>> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let live = || {
            let live = slot.live.read().unwrap_or_else(PoisonError::into_inner);
            live.as_ref()
                .filter(|shared| !shared.client.is_closed())
                .cloned()
        };
        if let Some(shared) = live() {
            return Ok(shared);
        }
        let _connecting = slot.connecting.lock().await;
        if let Some(shared) = live() {
            return Ok(shared);
        }
        let (client, connection) = self.config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(error = %e, "database: connection lost");
            }
        });
        let shared = Arc::new(Shared {
            client,
            statements: Prepared::default(),
        });
        *slot.live.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&shared));
        Ok(shared)
    }

    /// Runs `job`, which reads (`Mode::Read`) or inserts one new row
    /// (`Mode::Insert`) in one statement; `None` when it turned out to need
    /// more (nothing was written: the caller runs it where every job runs).
    pub(super) async fn run<T, F>(self: &Arc<Self>, mode: Mode, job: &F) -> Result<Option<T>>
    where
        F: Fn(&Tx<'_>) -> Result<T>,
    {
        let shared = self.connection().await?;
        let mut answers: Vec<Vec<tokio_postgres::Row>> = Vec::new();
        // A run for the statement's preparation (its first use on this
        // connection), one for its rows, one with them.
        for _ in 0..3 {
            let (result, need, write) = {
                let capture = RefCell::new(Capture::new(
                    Arc::clone(&shared.statements),
                    mode,
                    std::mem::take(&mut answers),
                ));
                let result = job(&Tx::direct(&capture));
                let capture = capture.into_inner();
                answers = capture.answers;
                (result, capture.need, capture.write)
            };
            match need {
                // A job that swallowed `Pending` still needs its rows.
                None => {
                    let value = result?;
                    if let Some((statement, params)) = write {
                        shared.client.execute(&statement, &refs(&params)).await?;
                    }
                    return Ok(Some(value));
                }
                Some(Need::Prepare(sql)) => drop(shared.prepare(&sql).await?),
                Some(Need::Rows(sql, statement, params)) => {
                    answers.push(self.rows(&shared, sql, &statement, params).await?);
                }
                Some(Need::More) => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The rows of a read of `sql`, sent with the other reads of it
    /// waiting at the moment (`shared_reads`).
    async fn rows(
        self: &Arc<Self>,
        shared: &Shared,
        sql: String,
        statement: &tokio_postgres::Statement,
        params: Vec<Encoded>,
    ) -> Result<Vec<tokio_postgres::Row>> {
        if params.is_empty() {
            return Ok(shared.client.query(statement, &[]).await?);
        }
        let (answer, rows) = oneshot::channel();
        let read = Waiting { params, answer };
        match self.reads.queue(&sql, statement.params(), read) {
            Next::Wait => {}
            Next::Send { batched } => {
                tokio::spawn(Arc::clone(self).send_batches(sql, batched));
            }
            Next::Alone(read) => {
                return Ok(shared.client.query(statement, &refs(&read.params)).await?);
            }
        }
        rows.await
            .unwrap_or_else(|_| Err(Error::Internal("a batch of reads was dropped".into())))
    }

    /// Sends `sql`'s batches until no read of it is waiting.
    async fn send_batches(self: Arc<Self>, sql: String, batched: Arc<str>) {
        let mut sender = shared_reads::Sender::new(&self.reads, &sql);
        loop {
            let batch = sender.take();
            if batch.is_empty() {
                return;
            }
            crate::metrics::db_shared_reads(batch.len());
            let answers = self.answer(&sql, &batched, &batch).await;
            for (read, answer) in batch.into_iter().zip(answers) {
                // A read whose request went away no longer listens.
                let _ = read.answer.send(answer);
            }
        }
    }

    /// The rows of each read of `batch`: in one statement, or each alone
    /// if there is one or the batch fails.
    async fn answer(
        &self,
        sql: &str,
        batched: &str,
        batch: &[Waiting],
    ) -> Vec<Result<Vec<tokio_postgres::Row>>> {
        let shared = match self.connection().await {
            Ok(shared) => shared,
            Err(e) => {
                return batch
                    .iter()
                    .map(|_| Err(Error::Internal(e.to_string())))
                    .collect();
            }
        };
        if batch.len() > 1
            && let Some(answers) = self.together(&shared, sql, batched, batch).await
        {
            return answers.into_iter().map(Ok).collect();
        }
        let mut answers = Vec::with_capacity(batch.len());
        for read in batch {
            answers.push(self.alone(&shared, sql, &read.params).await);
        }
        answers
    }

    /// The rows of each read of `batch`, from one execution of `batched`;
    /// `None` if the database refused it (each read then runs alone).
    async fn together(
        &self,
        shared: &Shared,
        sql: &str,
        batched: &str,
        batch: &[Waiting],
    ) -> Option<Vec<Vec<tokio_postgres::Row>>> {
        let statement = match shared.prepare(batched).await {
            Ok(statement) => statement,
            // Only the database's refusal says the rewritten statement
            // cannot be; a lost connection says nothing about it.
            Err(Error::Postgres(e)) if e.as_db_error().is_some() => {
                tracing::warn!(error = %e, "database: a read that cannot be batched");
                self.reads.unbatchable(sql);
                return None;
            }
            Err(e) => {
                tracing::debug!(error = %e, "database: a batch of reads");
                return None;
            }
        };
        let columns: Vec<Column<'_>> = (0..batch[0].params.len())
            .map(|index| Column {
                reads: batch,
                index,
            })
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(|column| column as _).collect();
        let rows = match shared.client.query(&statement, &params).await {
            Ok(rows) => rows,
            // A parameter the database refused: each runs alone, so that
            // only its own read fails.
            Err(e) => {
                tracing::debug!(error = %e, "database: a batch of reads");
                return None;
            }
        };
        shared_reads::split(rows, batch.len())
            .map_err(|e| tracing::warn!(error = %e, "database: a batch of reads"))
            .ok()
    }

    /// The rows of one read of `sql`, sent alone.
    async fn alone(
        &self,
        shared: &Shared,
        sql: &str,
        params: &[Encoded],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let statement = shared.prepare(sql).await?;
        Ok(shared.client.query(&statement, &refs(params)).await?)
    }
}

fn refs(params: &[Encoded]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as _).collect()
}

/// What a one-statement job may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Read,
    Insert,
}

/// What a capturing job needs before it can run to its end.
enum Need {
    /// Its statement prepared on this connection (to encode its parameters).
    Prepare(String),
    /// The rows of its (first) statement, with its SQL text (to share it
    /// with other reads of that statement, or to match it when the job
    /// runs if the database thread captured it).
    Rows(String, tokio_postgres::Statement, Vec<Encoded>),
    /// More than this path does: a second statement, an update, a savepoint.
    More,
}

/// A job's view of the database while it is captured (see the module).
pub(super) struct Capture {
    statements: Prepared,
    mode: Mode,
    /// Run only to find the job's first read (`pg::run_batch`): a
    /// savepoint before it changes nothing it reads.
    ahead: bool,
    /// The rows of the statements it ran in earlier runs, in order.
    answers: Vec<Vec<tokio_postgres::Row>>,
    used: usize,
    need: Option<Need>,
    /// Its insert, encoded, sent once the job has ended well.
    write: Option<(tokio_postgres::Statement, Vec<Encoded>)>,
}

impl Capture {
    fn new(statements: Prepared, mode: Mode, answers: Vec<Vec<tokio_postgres::Row>>) -> Capture {
        Capture {
            statements,
            mode,
            ahead: false,
            answers,
            used: 0,
            need: None,
            write: None,
        }
    }

    /// Stops the job: it needs `need` first.
    fn stop(&mut self, need: Need) -> Error {
        // The first need is the one met; what a job does after swallowing
        // `Pending` ran on made-up ground.
        self.need.get_or_insert(need);
        Error::Pending
    }

    /// Stops the job: it needs more than this path does.
    pub(super) fn more(&mut self) -> Error {
        self.stop(Need::More)
    }

    /// A savepoint, its release or rollback: stops the job, but where
    /// only its first read is looked for.
    pub(super) fn control(&mut self) -> Result<()> {
        match self.ahead {
            true => Ok(()),
            false => Err(self.more()),
        }
    }

    /// Stops a job that writes: a read-only one fails (as it would in a
    /// read-only transaction), an insert goes where every job runs.
    pub(super) fn writes(&mut self) -> Error {
        match self.mode {
            Mode::Read => Error::Internal("a read-only job tried to write".into()),
            Mode::Insert => self.more(),
        }
    }

    /// The rows of a read.
    pub(super) fn rows(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<&[tokio_postgres::Row]> {
        if self.mode != Mode::Read || self.need.is_some() {
            return Err(self.more());
        }
        if self.used < self.answers.len() {
            self.used += 1;
            return Ok(&self.answers[self.used - 1]);
        }
        if self.used > 0 {
            return Err(self.more());
        }
        let Some(statement) = prepared(&self.statements, sql) else {
            return Err(self.stop(Need::Prepare(sql.to_owned())));
        };
        let params = encode(&statement, sql, args)?;
        Err(self.stop(Need::Rows(sql.to_owned(), statement, params)))
    }

    /// An insert of a new row.
    pub(super) fn write(&mut self, sql: &str, args: &[&dyn Arg]) -> Result<()> {
        if self.mode != Mode::Insert || self.write.is_some() || self.need.is_some() {
            return Err(self.writes());
        }
        let Some(statement) = prepared(&self.statements, sql) else {
            return Err(self.stop(Need::Prepare(sql.to_owned())));
        };
        let params = encode(&statement, sql, args)?;
        self.write = Some((statement, params));
        Ok(())
    }
}
