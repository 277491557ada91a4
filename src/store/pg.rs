//! PostgreSQL under the same [`Store`]: several Sésame nodes on one
//! database (`database_url`).
//!
//! The domain's jobs were written for SQLite, where jobs run one after the
//! other: a job reads, decides and writes without anyone writing between.
//! PostgreSQL keeps that meaning across every node: each transaction first
//! takes one advisory lock ([`BEGIN_WRITES`]), so transactions of all nodes
//! follow each other as SQLite's do — except the code flow's, which take
//! it shared and lock the rows they decide on (`HotWriters`). Like
//! SQLite's, this node's database thread runs the jobs waiting at a given
//! moment in one transaction, each inside its own savepoint (group commit:
//! one lock, one commit for many requests), with statements prepared once
//! per connection and transaction control pipelined with them (`PgConn`).
//! Jobs of one statement (a read, or the insert of one new row) go straight
//! from their task, outside the lock (`direct`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::direct::{self, Direct};
use super::tx::{PgConn, Tx};
use super::{Ended, Error, Job, MAX_BATCH, Result, Store};

/// The advisory lock migrations are applied under, so that nodes starting
/// together migrate once.
const MIGRATING: i64 = 1_582_972_417;

/// Opens a transaction under the writers' lock (one round trip): every
/// transaction holds it, so at most one runs at a time on the database.
pub(super) const BEGIN_WRITES: &str = "BEGIN; SELECT pg_advisory_xact_lock(1582972416)";

/// Opens a hot writers' transaction (`HotWriters`): the same lock, shared,
/// and a row held by another transaction waited for 10 ms at most. Two
/// batches may each hold a row the other wants (PostgreSQL's own deadlock
/// check would wait a second), and while a batch waits, the jobs that take
/// the lock whole wait for it: the job that gave up runs again on the
/// database thread, and its batch ends there. Set after the lock, which
/// may be held whole for longer.
const BEGIN_HOT: &str = "BEGIN; SELECT pg_advisory_xact_lock_shared(1582972416); \
     SET LOCAL lock_timeout = '10ms'";

/// PostgreSQL migrations, applied in order at start; `sesame_migrations`
/// records them. They mirror the SQLite ones in `migrations/`: 0001 is
/// SQLite's 0001–0011 in one schema, then one file per SQLite file.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_schema",
        include_str!("../../migrations/postgres/0001_schema.sql"),
    ),
    (
        "0002_second_factor",
        include_str!("../../migrations/postgres/0002_second_factor.sql"),
    ),
    (
        "0003_housekeeping_indexes",
        include_str!("../../migrations/postgres/0003_housekeeping_indexes.sql"),
    ),
];

/// Connects to `url` (libpq-style URL or key-value string). TLS is not
/// built in: the database is reached on a Unix socket or a private network
/// (docs/deployment.md).
///
/// Sésame's sessions commit as its SQLite default does (`synchronous =
/// NORMAL`): a commit returns once in PostgreSQL's WAL buffers, written to
/// disk within a fraction of a second, so a crash of the database server
/// may lose the last moment's changes but never leaves them half done. An
/// operator who names `synchronous_commit` in the URL's `options` keeps
/// their own (docs/configuration.md).
fn connect(url: &str) -> Result<PgConn> {
    PgConn::connect(&config(url)?)
}

/// `url`'s settings, with Sésame's session default.
fn config(url: &str) -> Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.parse()?;
    let options = session_options(config.get_options().unwrap_or_default());
    config.options(&options);
    Ok(config)
}

/// The URL's `options` with Sésame's session default added, unless the
/// operator set that setting themselves.
fn session_options(options: &str) -> String {
    if options.contains("synchronous_commit") {
        options.to_owned()
    } else {
        format!("{options} -c synchronous_commit=off")
            .trim_start()
            .to_owned()
    }
}

/// Connections the one-statement jobs share (`direct`). Each serves many
/// requests at once, their statements pipelined; on this 2-core machine 2
/// beat 1 (the database's one process per connection saturated a core) and
/// 4 (fewer statements per round trip): docs/performance.md.
const DIRECT: usize = 2;

/// Connections on which the hot jobs (`HotWriters`) run side by side,
/// each with a thread of its own. Two took the code flow from 2,470 to
/// 2,872 requests a second on this 2-core machine (docs/performance.md).
const HOT: usize = 2;

/// Connects, applies the migrations and starts the database thread, then
/// the hot writers' threads.
pub(super) fn open(url: &str) -> Result<Store> {
    let (jobs, running) = writer("sesame-db", url, Lock::Whole)?;
    let mut hot = Vec::with_capacity(HOT);
    for i in 0..HOT {
        hot.push(writer(&format!("sesame-hot{i}"), url, Lock::Shared)?.0);
    }
    Ok(Store {
        jobs,
        direct: Some(Arc::new(Direct::new(config(url)?, DIRECT))),
        hot: Some(Arc::new(HotWriters {
            queues: hot,
            next: AtomicUsize::new(0),
        })),
        running,
    })
}

/// How a writers' thread's batches hold the writers' lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// Alone ([`BEGIN_WRITES`]): the database thread.
    Whole,
    /// Beside each other ([`BEGIN_HOT`]): the hot writers.
    Shared,
}

/// Starts a thread `name` that connects (and, for the database thread,
/// migrates), then runs the jobs queued on the sender returned in batches
/// holding the writers' lock as `lock` says. The client blocks on a runtime
/// of its own, which it may not do inside another: it is only ever used on
/// its thread, where it connects too (the caller, maybe on the async
/// runtime, waits for that once).
fn writer(
    name: &str,
    url: &str,
    lock: Lock,
) -> Result<(mpsc::Sender<Job>, tokio::sync::watch::Receiver<()>)> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let (opened, open) = mpsc::sync_channel::<Result<()>>(1);
    let owned = url.to_owned();
    let running = super::database_thread(name, move || {
        let conn = connect(&owned).and_then(|mut conn| {
            if lock == Lock::Whole {
                migrate(&mut conn)?;
            }
            Ok(conn)
        });
        match conn {
            Ok(conn) => {
                let _ = opened.send(Ok(()));
                run_jobs(conn, &owned, &queue, lock);
            }
            Err(e) => {
                let _ = opened.send(Err(e));
            }
        }
    })?;
    open.recv().map_err(|_| Error::Worker)??;
    Ok((jobs, running))
}

/// The hot jobs' connections, taken in turn: the authorization requests
/// and the redemption of codes and refresh tokens
/// (`Store::run_read_first`), the code flow's writing jobs. Their batches
/// take the writers' lock *shared* ([`BEGIN_HOT`]), so they run beside
/// each other, on this node and on others, and never beside a job that
/// takes it whole (a sign-in, a logout, a withdrawal, a purge). Where two
/// of them read, decide and write one row, they read it `FOR UPDATE` (a
/// code, a refresh token): the second waits for the first's commit and
/// then sees its write, as if they had run one after the other. A job that
/// waited longer than `lock_timeout` ([`BEGIN_HOT`]), or that reaches a
/// throttle counter (`Tx::in_turn`), runs again on the database thread
/// (`Ended::Contended`).
pub(super) struct HotWriters {
    queues: Vec<mpsc::Sender<Job>>,
    next: AtomicUsize,
}

impl HotWriters {
    /// The next connection's queue.
    pub(super) fn queue(&self) -> &mpsc::Sender<Job> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.queues[turn % self.queues.len()]
    }
}

/// Connects for reads beside the database thread (the metrics' gauges);
/// the server that opened it migrated the schema already.
pub(super) fn open_reader(url: &str) -> Result<super::Db> {
    Ok(super::Db::pg(connect(url)?))
}

/// Connects for a one-off command (CLI), migrated.
pub(super) fn open_for_cli(url: &str) -> Result<super::Db> {
    let mut conn = connect(url)?;
    migrate(&mut conn)?;
    Ok(super::Db::pg(conn))
}

/// A writers' thread: batches as on SQLite; reconnects when the
/// connection was lost (jobs meanwhile fail, and readiness says so). The
/// jobs a batch left when it ended early go first in the next.
fn run_jobs(conn: PgConn, url: &str, queue: &mpsc::Receiver<Job>, lock: Lock) {
    let conn = RefCell::new(conn);
    let begin = match lock {
        Lock::Whole => BEGIN_WRITES,
        Lock::Shared => BEGIN_HOT,
    };
    let mut left = Vec::new();
    loop {
        let mut batch = std::mem::take(&mut left);
        if batch.is_empty() {
            match queue.recv() {
                Ok(first) => batch.push(first),
                Err(_) => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Dropping the jobs answers each caller with an error.
        if reconnected(&conn, url) {
            conn.borrow_mut().shared = lock == Lock::Shared;
            left = run_batch(&conn, batch, begin);
        }
    }
}

/// Whether `conn` is connected, reconnecting it first if it was lost
/// (after a failure, waits a little so that a queue of jobs fails fast
/// without hammering the server).
fn reconnected(conn: &RefCell<PgConn>, url: &str) -> bool {
    if !conn.borrow().is_closed() {
        return true;
    }
    match connect(url) {
        Ok(fresh) => {
            *conn.borrow_mut() = fresh;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "database: cannot reconnect");
            std::thread::sleep(Duration::from_millis(200));
            false
        }
    }
}

/// Runs a batch in one transaction under the writers' lock. A lone job
/// needs no savepoint: the transaction is its own. Transaction control is
/// deferred to the next statement's round trip (`PgConn`), so `BEGIN` and
/// each savepoint ride with a job's first statement, and the last release
/// with the `COMMIT`. The batch ends early after a job that must run where
/// writers take turns (a hot writer met another transaction on a row):
/// committed at once, it lets go of its rows, and returns the jobs it did
/// not run.
fn run_batch(conn: &RefCell<PgConn>, batch: Vec<Job>, begin: &str) -> Vec<Job> {
    crate::metrics::db_batch(batch.len());
    let tx = Tx::pg(conn);
    let defer = |sql: &str| conn.borrow_mut().defer(sql);
    defer(begin);
    conn.borrow_mut().in_transaction = true;
    let alone = batch.len() == 1;
    let mut answers = Vec::with_capacity(batch.len());
    let mut kept_any = false;
    let mut jobs = batch.into_iter().peekable();
    // The next job's savepoint went with the end of the job before it.
    let mut opened = false;
    while let Some(job) = jobs.next() {
        if !alone && !opened {
            defer("SAVEPOINT job");
        }
        opened = false;
        // A panic in one job must not take the database away from the others.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (job.run)(&tx)));
        conn.borrow_mut().prefetched = None;
        let mut keep = matches!(&done, Ok(d) if d.ok);
        // How the job ended, if not with its batch: it must run in turn,
        // or its writes failed when sent.
        let mut ended_alone = matches!(&done, Ok(d) if d.wants_turn).then_some(Ended::Contended);
        let writes_queued = conn.borrow().writes_queued();
        if !alone {
            if keep && writes_queued {
                // The job's queued writes decide whether it is kept: sent
                // now with its release (a lone job's go with the COMMIT),
                // and with the next job's savepoint and first read, which
                // run where that job would run them itself.
                defer("RELEASE job");
                let next = jobs.peek().and_then(|next| next_read(conn, next));
                let sent = match next {
                    Some(read) => {
                        defer("SAVEPOINT job");
                        opened = true;
                        conn.borrow_mut().flush_with_read(read)
                    }
                    None => conn.borrow_mut().flush(),
                };
                if let Err(e) = sent {
                    keep = false;
                    ended_alone = Some(ended_by(&e, "a job's write"));
                    // The rest of the round trip did not run.
                    opened = false;
                    defer("ROLLBACK TO job; RELEASE job");
                } else if opened && conn.borrow().prefetched.is_none() {
                    // The next job's read failed: undone, inside its
                    // savepoint; the job reads again itself.
                    defer("ROLLBACK TO job");
                }
            } else if keep {
                defer("RELEASE job");
            } else {
                if writes_queued {
                    // Sent and undone here, so that their failure is not
                    // taken for the next job's.
                    let _ = conn.borrow_mut().flush();
                }
                defer("ROLLBACK TO job; RELEASE job");
            }
        }
        kept_any |= keep;
        match done {
            Ok(done) => answers.push((done, ended_alone)),
            Err(_) => tracing::error!("a database job panicked"),
        }
        if ended_alone == Some(Ended::Contended) {
            break;
        }
    }
    conn.borrow_mut().in_transaction = false;
    let end = if alone && !kept_any {
        "ROLLBACK"
    } else {
        "COMMIT"
    };
    // Bound first: a borrow in the `match` would live through its arms.
    let ended = conn.borrow_mut().batch(end);
    let batch_ended = match ended {
        Ok(()) => Ended::Committed,
        Err(e) => {
            let _ = conn.borrow_mut().batch("ROLLBACK");
            // A lone job's writes go with the COMMIT: one of them may have
            // waited too long for a row.
            ended_by(&e, "a commit")
        }
    };
    for (done, ended_alone) in answers {
        // A lone job undone by its rollback still gets its own answer (its
        // error), as a job undone by its savepoint does.
        (done.answer)(ended_alone.unwrap_or(batch_ended));
    }
    jobs.collect()
}

/// How a failure of what a batch sent ends the jobs it undid: run again
/// in turn if it only waited too long for a row (expected, beside other
/// writers), else undone, which is logged as the error it is.
fn ended_by(e: &Error, what: &str) -> Ended {
    if e.wants_turn() {
        tracing::debug!(error = %e, "database: {what} waited for a row: it runs again in turn");
        Ended::Contended
    } else {
        tracing::error!(error = %e, "database: {what} failed");
        Ended::Undone
    }
}

/// The first statement of `job` ([`Store::run_read_first`]) if it is a
/// read whose statement this connection prepared already, ready to send:
/// the job run captured up to there.
///
/// [`Store::run_read_first`]: super::Store::run_read_first
fn next_read(conn: &RefCell<PgConn>, job: &Job) -> Option<direct::Read> {
    let first = job.first_read.as_ref()?;
    let statements = Arc::clone(&conn.borrow().statements);
    direct::first_read(&statements, first.as_ref())
}

/// Applies the migrations not applied yet, each in a transaction, under a
/// session lock so that two nodes starting together do not race.
fn migrate(conn: &mut PgConn) -> Result<()> {
    conn.with_client(async |client| {
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATING])
            .await?;
        let result = apply(client).await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATING])
            .await;
        result?;
        unlocked?;
        Ok(())
    })
}

async fn apply(client: &mut tokio_postgres::Client) -> Result<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS sesame_migrations (
                 version    BIGINT PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM sesame_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= applied {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO sesame_migrations (version, name) VALUES ($1, $2)",
            &[&version, name],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = name, "database: PostgreSQL migration applied");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::session_options;

    #[test]
    fn sessions_commit_asynchronously_unless_the_operator_says_otherwise() {
        assert_eq!(session_options(""), "-c synchronous_commit=off");
        assert_eq!(
            session_options("-c statement_timeout=5000"),
            "-c statement_timeout=5000 -c synchronous_commit=off"
        );
        assert_eq!(
            session_options("-c synchronous_commit=on"),
            "-c synchronous_commit=on"
        );
    }
}
