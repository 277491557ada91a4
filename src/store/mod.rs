//! Storage: one database thread that owns the connection (nothing touches
//! the database on the async executor), the embedded migrations, and one
//! module per table group. SQLite by default; PostgreSQL when
//! `database_url` names one (`pg`), for several nodes on one database.
//!
//! Every store function is a plain function over a [`Tx`], the store's own
//! handle on the database: the domain (`oidc`, `accounts`) takes a `&Tx` and
//! never names the database library; the same functions run on both
//! backends (docs/architecture.md says how).

pub mod audit;
pub mod backchannel;
pub mod consents;
pub mod email_changes;
pub mod email_tokens;
pub mod expired;
pub mod grants;
pub mod interactions;
pub mod mail_queue;
pub mod mail_requests;
pub mod server_secrets;
pub mod sessions;
pub mod signups;
pub mod stats;
pub mod throttle;
pub mod totp;
pub mod users;

mod direct;
mod pg;
mod shared_reads;
mod tx;
mod values;

pub(crate) use tx::args;
pub use tx::{Arg, Db, Row, Savepoint, Tx, Value};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

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
    (
        "0004_access_token_digest",
        include_str!("../../migrations/0004_access_token_digest.sql"),
    ),
    (
        "0005_ordered_access_tokens",
        include_str!("../../migrations/0005_ordered_access_tokens.sql"),
    ),
    (
        "0006_clustered_codes_and_grants",
        include_str!("../../migrations/0006_clustered_codes_and_grants.sql"),
    ),
    (
        "0007_throttle",
        include_str!("../../migrations/0007_throttle.sql"),
    ),
    (
        "0008_server_secrets",
        include_str!("../../migrations/0008_server_secrets.sql"),
    ),
    (
        "0009_audit_and_admin",
        include_str!("../../migrations/0009_audit_and_admin.sql"),
    ),
    (
        "0010_pending_signups",
        include_str!("../../migrations/0010_pending_signups.sql"),
    ),
    (
        "0011_account",
        include_str!("../../migrations/0011_account.sql"),
    ),
    (
        "0012_second_factor",
        include_str!("../../migrations/0012_second_factor.sql"),
    ),
    (
        "0013_housekeeping_indexes",
        include_str!("../../migrations/0013_housekeeping_indexes.sql"),
    ),
];

/// The one error of the storage boundary: the database failed, or the
/// thread that owns it is gone. Refusals (an invalid code, a wrong
/// password) are never errors of this type: domain functions return them
/// inside their `Ok` outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database thread stopped")]
    Worker,
    /// The job's own code found it cannot go on (a broken invariant, a
    /// mail that cannot be composed): like a database error, its writes
    /// are undone and the request fails. Refusals never come this way.
    #[error("{0}")]
    Internal(String),
    /// A captured job stopped at a statement it needs run first (see
    /// `direct`); never returned by `Store`.
    #[error("database: a statement is pending")]
    Pending,
    /// A job beside other writers reached what only jobs taking turns may
    /// change (`Tx::in_turn`); never returned by `Store`.
    #[error("database: this job runs where writers take turns")]
    InTurn,
}

impl Error {
    /// The job must run again where writers take turns: PostgreSQL gave up
    /// waiting for a row another transaction holds (its `lock_timeout`, or
    /// a deadlock: writers running side by side met on one row), or the
    /// job reached what only jobs taking turns may change.
    fn wants_turn(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            Error::InTurn => true,
            Error::Postgres(e) => e.code().is_some_and(|code| {
                *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::T_R_DEADLOCK_DETECTED
            }),
            _ => false,
        }
    }
}

/// What every store function returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A job run on the database thread: it does its work and returns how to
/// answer once the batch it ran in is committed (or not).
struct Job {
    run: Box<dyn FnOnce(&Tx<'_>) -> Done + Send>,
    /// The job again, to run up to its first statement only (captured):
    /// on PostgreSQL that read goes with the end of the job before it.
    first_read: Option<FirstRead>,
}

/// A job run in capture mode (`direct`), its answer dropped.
type FirstRead = Box<dyn Fn(&Tx<'_>) + Send>;

struct Done {
    /// Whether the job's writes are kept (its closure returned `Ok`).
    ok: bool,
    /// It failed with an error that asks it to run where writers take
    /// turns ([`Error::wants_turn`]).
    wants_turn: bool,
    /// Sends the answer once the batch has ended.
    answer: Box<dyn FnOnce(Ended) + Send>,
}

/// How the batch a job ran in ended for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The batch committed: the job's own result stands, an error included.
    Committed,
    /// The job's writes were undone (its batch's or its own failed).
    Undone,
    /// The job must run where writers take turns (PostgreSQL's hot
    /// writers, `pg`: a row another transaction held, `Error::wants_turn`):
    /// undone, to be run again.
    Contended,
}

/// Most jobs one transaction groups.
const MAX_BATCH: usize = 64;

/// Where an instance keeps its data.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// `sesame.db` in this data folder (the default).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database, by URL (`database_url`), shared by nodes.
    Postgres(String),
}

/// Never shows the URL: it may hold the database password.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(dir) => f.debug_tuple("Sqlite").field(dir).finish(),
            Database::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// Handle to the database, cheap to clone.
///
/// SQLite admits one writer at a time, so several connections only meet in
/// its lock, where a loser sleeps in the busy handler. One thread owns one
/// connection instead and runs the queued jobs back to back, with group
/// commit: the jobs waiting at a given moment run in one transaction, each
/// inside its own savepoint (so each is atomic), and are answered after the
/// commit. Under load that is one WAL write for many requests.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    /// Where one-statement jobs go straight from their task (PostgreSQL).
    direct: Option<Arc<direct::Direct>>,
    /// Where authorization and token requests run side by side (PostgreSQL).
    hot: Option<Arc<pg::HotWriters>>,
    /// Sees the database thread end (see [`database_thread`]).
    running: tokio::sync::watch::Receiver<()>,
}

impl Store {
    /// Completes if the database thread ends while the store is in use:
    /// only after a panic outside every job (a bug). Nothing can be written
    /// any more, so the server stops and its supervisor starts it again
    /// (`http::start::run_until`).
    pub async fn stopped(&self) {
        ended(self.running.clone()).await;
    }

    /// The cheapest job the database thread can answer (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        self.run(|tx| tx.query_one("SELECT 1", args![], |_| Ok(())))
            .await
    }

    /// Opens the database (creating the SQLite file if needed), applies
    /// the migrations and starts the database thread.
    pub fn open(database: &Database) -> Result<Store, Error> {
        match database {
            Database::Sqlite(dir) => Store::open_with(dir, WAL_RESTART_FRAMES, CHECKPOINT_INTERVAL),
            Database::Postgres(url) => pg::open(url),
        }
    }

    fn open_with(
        dir: &Path,
        wal_restart_frames: i64,
        checkpoint_interval: Duration,
    ) -> Result<Store, Error> {
        let path = database_file(dir);
        let mut conn = open_connection(&path)?;
        migrate(&mut conn)?;
        // The checkpointer thread copies the WAL back into the database, so
        // this thread never waits for a checkpoint's fsyncs.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let wal = Arc::new(Wal {
            restart_at: wal_restart_frames,
            ..Wal::default()
        });
        // After each commit SQLite tells the WAL's length (set after the
        // pragma above, which would replace it).
        let length = Arc::clone(&wal);
        conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            length.frames.store(i64::from(frames), Ordering::Relaxed);
            Ok(())
        }))?;
        let checkpoints = open_connection(&path)?;
        let file = std::fs::File::open(&path)
            .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let seen = Arc::clone(&wal);
        std::thread::Builder::new()
            .name("sesame-checkpoint".into())
            .spawn(move || {
                batch_scheduling();
                checkpointer(&checkpoints, &file, &nudged, &seen, checkpoint_interval);
            })
            .map_err(|_| Error::Worker)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let running = database_thread("sesame-db", move || {
            batch_scheduling();
            run_jobs(&mut conn, &queue, &nudge, &wal);
        })?;
        Ok(Store {
            jobs,
            direct: None,
            hot: None,
            running,
        })
    }

    /// Runs `f` on the database thread, atomically, and waits for its
    /// result. A request cancelled meanwhile just drops the answer.
    /// Its writes are kept when `f` returns `Ok`, whatever outcome that
    /// carries; an `Err` undoes them.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
    {
        submit(&self.jobs, f).await
    }

    /// Runs `f` as [`Store::run`] does, for the hot jobs that begin with a
    /// read: an authorization request, a token request. On PostgreSQL they
    /// run on connections of their own, side by side (`pg::HotWriters`),
    /// and that read goes in the same round trip as the end of the job
    /// before it in the batch, where the job would have sent it itself: one
    /// round trip a job instead of two. `f` may run more than once: it must
    /// act only through its `Tx`.
    pub async fn run_read_first<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
    {
        let Some(hot) = &self.hot else {
            return self.run_read_first_in_turn(f).await;
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = hot_job(Arc::new(f), reply, self.jobs.clone());
        // A hot thread that ended leaves its jobs to the database thread.
        let sent = hot.queue().send(job).or_else(|e| self.jobs.send(e.0));
        sent.map_err(|_| Error::Worker)?;
        answered(answer).await
    }

    /// [`Store::run_read_first`] on the database thread, among the jobs
    /// that take the writers' lock whole, in the order queued: for a job
    /// known to reach what only such jobs may change (`Tx::in_turn`), and
    /// where a hot job runs again after it gave up waiting for a row.
    pub async fn run_read_first_in_turn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
    {
        // SQLite's database thread runs each read in process.
        if self.direct.is_none() {
            return submit(&self.jobs, f).await;
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = read_first_job(Arc::new(f), reply);
        self.jobs.send(job).map_err(|_| Error::Worker)?;
        answered(answer).await
    }

    /// Runs `f`, which only reads, and waits for its result. It sees one
    /// consistent state, as a job of [`Store::run`] does. On PostgreSQL a
    /// job of one statement goes straight from this task (`direct`),
    /// outside the writers' lock, side by side with the writes (a write
    /// would not run there); a longer one runs as [`Store::run`]'s jobs do.
    /// `f` may run more than once: it must act only through its `Tx`.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
    {
        self.one_statement(direct::Mode::Read, f).await
    }

    /// Runs `f`, which inserts new rows and reads nothing, as [`Store::run`]
    /// does. On PostgreSQL a job of one insert is sent straight from this
    /// task, without the writers' lock: a new row's key is fresh, so no
    /// other job can have read that row or be writing it. `f` may run more
    /// than once: it must act only through its `Tx`.
    pub async fn insert<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
    {
        self.one_statement(direct::Mode::Insert, f).await
    }

    /// `f` straight from this task if it is one statement of `mode` and
    /// the backend has that path (`direct`); else as [`Store::run`]'s jobs.
    async fn one_statement<T, F>(&self, mode: direct::Mode, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
    {
        if let Some(direct) = &self.direct
            && let Some(value) = direct.run(mode, &f).await?
        {
            return Ok(value);
        }
        submit(&self.jobs, f).await
    }
}

/// Runs `body` on a new thread named `name`. The receiver returned sees
/// the thread end, returned or panicked: its sender ends with the thread.
fn database_thread(
    name: &str,
    body: impl FnOnce() + Send + 'static,
) -> Result<tokio::sync::watch::Receiver<()>> {
    let (alive, running) = tokio::sync::watch::channel(());
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _alive = Alive { _sender: alive };
            body();
        })
        .map_err(|_| Error::Worker)?;
    Ok(running)
}

/// Completes once the thread [`database_thread`] started has ended.
async fn ended(mut running: tokio::sync::watch::Receiver<()>) {
    while running.changed().await.is_ok() {}
}

/// Held by a database thread for as long as it runs.
struct Alive {
    /// Dropped with the thread: what [`Store::stopped`] waits for.
    _sender: tokio::sync::watch::Sender<()>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("the database thread panicked: this node stops");
        }
    }
}

/// Queues `f` as a job on `queue` and waits for its answer.
async fn submit<T, F>(queue: &mpsc::Sender<Job>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job = Job {
        run: answering(f, reply, None),
        first_read: None,
    };
    queue.send(job).map_err(|_| Error::Worker)?;
    answered(answer).await
}

/// Where a job's answer is sent.
type Reply<T> = tokio::sync::oneshot::Sender<Result<T>>;

/// Waits for a job's answer (counted in the metrics' job latency).
async fn answered<T>(answer: tokio::sync::oneshot::Receiver<Result<T>>) -> Result<T> {
    let queued = crate::metrics::enabled().then(std::time::Instant::now);
    let answer = answer.await.map_err(|_| Error::Worker)?;
    if let Some(queued) = queued {
        crate::metrics::db_job(queued.elapsed());
    }
    answer
}

/// Runs `f` and answers `reply` once its batch has ended: its own result
/// if the batch committed. A job that must run where writers take turns
/// (`Ended::Contended`) goes to `again` instead, if it has somewhere to go.
fn answering<T, F>(
    f: F,
    reply: Reply<T>,
    again: Option<Again<T>>,
) -> Box<dyn FnOnce(&Tx<'_>) -> Done + Send>
where
    T: Send + 'static,
    F: FnOnce(&Tx<'_>) -> Result<T> + Send + 'static,
{
    Box::new(move |tx| {
        let result = f(tx);
        Done {
            ok: result.is_ok(),
            wants_turn: matches!(&result, Err(e) if e.wants_turn()),
            answer: Box::new(move |ended| match (ended, again) {
                (Ended::Contended, Some(again)) => again(reply),
                _ => drop(reply.send(outcome(result, ended))),
            }),
        }
    })
}

/// Where a job that must take turns goes with its reply, to run again.
type Again<T> = Box<dyn FnOnce(Reply<T>) + Send>;

/// What a job answers: its own result if its batch committed.
fn outcome<T>(result: Result<T>, ended: Ended) -> Result<T> {
    match ended {
        Ended::Committed => result,
        Ended::Undone | Ended::Contended => Err(Error::Worker),
    }
}

/// `f` as a job for the writers' database thread, with its first read.
fn read_first_job<T, F>(f: Arc<F>, reply: Reply<T>) -> Job
where
    T: Send + 'static,
    F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
{
    Job {
        first_read: Some(first_read(&f)),
        run: answering(move |tx| f(tx), reply, None),
    }
}

/// `f` run up to its first statement ([`FirstRead`]).
fn first_read<T, F>(f: &Arc<F>) -> FirstRead
where
    F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
{
    let f = Arc::clone(f);
    Box::new(move |tx| drop(f(tx)))
}

/// `f` as a job for a hot writer (`pg::HotWriters`): if it met another
/// transaction on a row and gave up waiting, or reached what only jobs
/// taking turns may change, it runs again on `writers`, the database
/// thread's queue, where no other writer runs beside it.
fn hot_job<T, F>(f: Arc<F>, reply: Reply<T>, writers: mpsc::Sender<Job>) -> Job
where
    T: Send + 'static,
    F: Fn(&Tx<'_>) -> Result<T> + Send + Sync + 'static,
{
    let again_f = Arc::clone(&f);
    let again: Again<T> = Box::new(move |reply| {
        crate::metrics::db_contended();
        // Dropped if the thread is gone: the caller gets an error.
        let _ = writers.send(read_first_job(again_f, reply));
    });
    Job {
        first_read: Some(first_read(&f)),
        run: answering(move |tx| f(tx), reply, Some(again)),
    }
}

/// The database thread: runs the queued jobs in batches until every
/// `Store` is gone, nudges the checkpointer after changes, and finishes a
/// checkpoint itself when the WAL has grown too long and the checkpointer
/// has copied nearly all of it.
fn run_jobs(
    conn: &mut Connection,
    queue: &mpsc::Receiver<Job>,
    nudge: &mpsc::SyncSender<()>,
    wal: &Wal,
) {
    let mut tried = std::time::Instant::now();
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if run_batch(conn, batch) {
            // A full channel means a nudge is pending already.
            let _ = nudge.try_send(());
        }
        // A reader (a backup's long snapshot) can keep the WAL from
        // starting over: try again after a while, not after every batch.
        if wal.restart_now() && tried.elapsed() >= RESTART_RETRY {
            restart_wal(conn);
            tried = std::time::Instant::now();
        }
    }
}

/// How soon the database thread tries to start the WAL over again.
const RESTART_RETRY: Duration = Duration::from_millis(10);

/// What the database thread and the checkpointer know of the WAL, in
/// frames (4 KiB pages).
#[derive(Default)]
struct Wal {
    /// The WAL's length after the last commit (SQLite's WAL hook).
    frames: AtomicI64,
    /// How far the checkpointer's last pass copied it into the database.
    copied: AtomicI64,
    /// The length past which the database thread starts it over.
    restart_at: i64,
}

impl Wal {
    /// Whether the database thread should finish a checkpoint now, with
    /// every queued job waiting for it: when the WAL is too long, and the
    /// checkpointer has left little to copy (each frame left costs the
    /// waiting requests, 40–120 ms for the few thousand a purge writes
    /// between two passes) — or when the WAL is so long that the
    /// checkpointer will not catch up with the writes.
    fn restart_now(&self) -> bool {
        let frames = self.frames.load(Ordering::Relaxed);
        let left = frames - self.copied.load(Ordering::Relaxed);
        frames > self.restart_at && (left <= CAUGHT_UP_FRAMES || frames > 4 * self.restart_at)
    }

    /// Whether the WAL waits for the checkpointer to catch up before it
    /// can start over.
    fn restart_pending(&self) -> bool {
        self.frames.load(Ordering::Relaxed) > self.restart_at
    }
}

/// Runs a batch in one transaction, each job in its own savepoint, then
/// answers every job. Returns whether the batch committed any change.
fn run_batch(conn: &mut Connection, batch: Vec<Job>) -> bool {
    crate::metrics::db_batch(batch.len());
    let changes = conn.total_changes();
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "database: cannot begin a transaction");
        // Dropping the jobs drops their reply channels: each caller gets an error.
        return false;
    }
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if exec(conn, "SAVEPOINT job").is_err() {
            continue;
        }
        // A panic in one job must not take the database away from the others.
        let done =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (job.run)(&Tx::new(conn))));
        let keep = matches!(&done, Ok(d) if d.ok);
        let end = if keep {
            exec(conn, "RELEASE job")
        } else {
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
        };
        if let Err(e) = end {
            tracing::error!(error = %e, "database: cannot end a savepoint");
        }
        match done {
            Ok(done) => answers.push(done.answer),
            Err(_) => tracing::error!("a database job panicked"),
        }
    }
    let committed = match exec(conn, "COMMIT") {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "database: commit failed");
            let _ = exec(conn, "ROLLBACK");
            false
        }
    };
    let ended = if committed {
        Ended::Committed
    } else {
        Ended::Undone
    };
    for answer in answers {
        answer(ended);
    }
    committed && conn.total_changes() != changes
}

/// Puts the calling thread under `SCHED_BATCH`: woken by a queued job, it
/// does not preempt the thread that queued it, which goes on serving
/// requests and queuing more, so one transaction takes a bigger batch.
/// Where the two share a core this saved 60 % of the context switches of
/// the code flow; on a free core the thread starts at once anyway.
#[cfg(target_os = "linux")]
fn batch_scheduling() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` reads `param` for the duration of the
    // call only; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &raw const param) };
    if rc != 0 {
        tracing::debug!("SCHED_BATCH refused; default scheduling");
    }
}

#[cfg(not(target_os = "linux"))]
fn batch_scheduling() {}

/// Runs a transaction-control statement, prepared once.
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// How often at most the checkpointer runs.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// WAL frames (4 KiB pages) past which the database thread finishes a
/// checkpoint itself, between two batches.
const WAL_RESTART_FRAMES: i64 = 16_384;

/// Frames written between two checkpoints (4 MiB) past which the next one
/// comes ten times sooner.
const BUSY_WAL_FRAMES: i64 = 1_024;

/// Frames (1 MiB) the database thread copies itself, at most, when it
/// starts the WAL over (unless the WAL passed four times its limit).
const CAUGHT_UP_FRAMES: i64 = 256;

/// Copies committed pages from the WAL into the database after writes, at
/// most once an `interval` (a page written many times meanwhile is copied
/// once), until the database thread stops; reports how far it copied.
/// While the WAL grows fast (a large purge writes tens of MB a second) it
/// comes back ten times sooner, and while the WAL is past its limit a
/// hundred times sooner: the database thread starts the WAL over only once
/// this thread has copied nearly all of it, since whatever is left, it
/// copies itself with every job waiting (40–120 ms at a time during a purge
/// of millions of rows when it did not wait).
fn checkpointer(
    conn: &Connection,
    file: &std::fs::File,
    nudged: &mpsc::Receiver<()>,
    wal: &Wal,
    interval: Duration,
) {
    let (mut last, mut last_copied) = (0, 0);
    while nudged.recv().is_ok() {
        let mut pause = interval;
        if let Some((frames, copied)) = passive_checkpoint(conn) {
            // SQLite flushes the database file only at the end of a
            // checkpoint that copied the whole WAL: the database thread's,
            // which then waited for everything copied here since the last
            // one (20–40 ms of fsync). Written out as they come, it waits
            // for its own last pages only.
            if copied != last_copied {
                flush(file);
            }
            last_copied = copied;
            wal.copied.store(copied, Ordering::Relaxed);
            // A shorter WAL than last time: it started over.
            let written = if frames >= last {
                frames - last
            } else {
                frames
            };
            if written > BUSY_WAL_FRAMES {
                pause = interval / 10;
            }
            last = frames;
        }
        if wal.restart_pending() {
            pause = interval / 100;
        }
        std::thread::sleep(pause);
    }
}

/// Has the kernel start writing the database file's changed pages to disk
/// (no waiting, no disk cache flush here): by the time the database thread
/// flushes the file itself, little is left to write.
fn flush(file: &std::fs::File) {
    if let Err(e) = start_writeback(file) {
        tracing::warn!(error = %e, "database: cannot flush the database file");
    }
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call (it is
    // borrowed from `file`); the call only reads its arguments.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Under constant writes a checkpoint from another connection never
/// catches up with the last frames, and the WAL only grows. The writer
/// itself, between two batches, does catch up (the checkpointer copied
/// nearly everything already), so its next transaction starts the WAL over.
fn restart_wal(conn: &Connection) {
    let started = std::time::Instant::now();
    let done = passive_checkpoint(conn);
    let took = started.elapsed();
    // Every job queued meanwhile waited that long: worth a line when long.
    if took > Duration::from_millis(20) {
        tracing::info!(
            ms = took.as_millis() as u64,
            frames = done.map_or(-1, |(frames, _)| frames),
            "database: checkpoint finished between batches"
        );
    }
}

/// Copies what it can of the WAL into the database without waiting for any
/// lock; returns the WAL's length and how far it is copied, in frames
/// (`None` if it failed, logged, or another checkpoint was running).
fn passive_checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
    .map_err(|e| tracing::warn!(error = %e, "database: checkpoint failed"))
    .ok()
    .filter(|&(frames, copied): &(i64, i64)| frames >= 0 && copied >= 0)
}

/// Opens one connection with the settings every connection needs.
fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every transaction takes the write lock at BEGIN, where SQLite waits
    // for it (busy_timeout); a deferred one that reads then writes would get
    // SQLITE_BUSY at once if another connection committed in between.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // One-off commands checkpoint every 16 MB of WAL rather than every 4 MB;
    // the server checkpoints from a thread of its own (`Store::open`).
    conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The SQLite file of the instance whose data folder is `dir`.
pub fn database_file(dir: &Path) -> std::path::PathBuf {
    dir.join("sesame.db")
}

/// Opens the database for a one-off command (CLI), migrated.
pub fn open_for_cli(database: &Database) -> Result<Db> {
    match database {
        Database::Sqlite(dir) => {
            let mut conn = open_connection(&database_file(dir))?;
            migrate(&mut conn)?;
            Ok(Db::new(conn))
        }
        Database::Postgres(url) => pg::open_for_cli(url),
    }
}

/// Opens a second connection for reads that must not queue behind the
/// database thread's jobs (the metrics' gauges): SQLite read-only, reading
/// the last committed snapshot while the database thread writes (WAL);
/// PostgreSQL outside the writers' lock. Neither holds up a request: on a
/// million citizens one count of the gauges takes tens of milliseconds
/// (docs/performance.md), which every request queued meanwhile would wait.
pub fn open_reader(database: &Database) -> Result<Db> {
    match database {
        Database::Sqlite(dir) => {
            let conn = Connection::open_with_flags(
                database_file(dir),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(Duration::from_secs(5))?;
            Ok(Db::new(conn))
        }
        Database::Postgres(url) => pg::open_reader(url),
    }
}

/// Writes a consistent copy of the database of the data folder `dir` to
/// `out`, while a server may be writing to it: `VACUUM INTO` reads one
/// snapshot (a read transaction: writers go on meanwhile) into a compact
/// new file. It is written beside `out` under a temporary name and renamed
/// at the end, so `out` never holds half a copy. Refuses to overwrite.
pub fn backup(dir: &Path, out: &Path) -> std::result::Result<(), String> {
    let database = database_file(dir);
    if !database.exists() {
        return Err(format!("no database at {}", database.display()));
    }
    if out.exists() {
        return Err(format!("{} exists; not overwriting it", out.display()));
    }
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let conn = Connection::open_with_flags(&database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", database.display()))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let target = partial.to_str().ok_or("the output path is not UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| format!("{}: {e}", out.display()))?;
    std::fs::rename(&partial, out).map_err(|e| format!("{}: {e}", out.display()))
}

/// Applies the migrations not applied yet, each in a transaction. Foreign
/// keys are off meanwhile (the pragma is ignored inside a transaction), so
/// that a migration can rebuild a table without its `DROP` cascading; each
/// migration must leave every reference valid before it commits.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied >= MIGRATIONS.len() as i64 {
        return Ok(());
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = apply(conn, applied);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

fn apply(conn: &mut Connection, applied: i64) -> rusqlite::Result<()> {
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
            .optional()?;
        if let Some(table) = broken {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!(
                    "migration {name} left a broken reference in {table}"
                )),
            ));
        }
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// A migrated in-memory database for unit tests.
#[cfg(test)]
pub(crate) fn memory() -> Db {
    let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("pragma");
    migrate(&mut conn).expect("migrations apply");
    Db::new(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database thread that panics outside every job is seen to end,
    /// which stops the server (`http::start::run_until`).
    #[tokio::test]
    async fn a_database_thread_that_panics_is_seen_to_end() {
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let running = database_thread("sesame-db-test", move || {
            let _ = wait.recv();
            panic!("a bug outside every job");
        })
        .unwrap();
        let ended = ended(running);
        tokio::pin!(ended);
        let early = tokio::time::timeout(Duration::from_millis(50), &mut ended).await;
        assert!(early.is_err(), "running: not ended");
        go.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), ended)
            .await
            .expect("seen to end after its panic");
    }

    #[tokio::test]
    async fn each_job_is_atomic_within_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Database::Sqlite(dir.path().to_owned())).unwrap();
        store
            .run(|c| c.execute_sql("CREATE TABLE t (v INTEGER UNIQUE)"))
            .await
            .unwrap();
        let jobs: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .run(move |c| {
                            c.execute("INSERT INTO t VALUES (?1)", args![i * 10])?;
                            // Odd jobs fail after their first write: it must not stay.
                            if i % 2 == 1 {
                                c.execute_sql("INSERT INTO t VALUES (0)")?;
                            }
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        let mut failed = 0;
        for job in jobs {
            failed += usize::from(job.await.unwrap().is_err());
        }
        assert_eq!(failed, 10);
        let rows: i64 = store
            .run(|c| c.query_i64("SELECT COUNT(*) FROM t"))
            .await
            .unwrap();
        assert_eq!(rows, 10, "only the successful jobs' rows remain");
    }

    #[test]
    fn access_tokens_move_to_the_ordered_table_with_their_digest() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A database from before 0005.
        for (_, sql) in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO access_tokens (jti, client_id, scopes, expires_at, digest) \
             VALUES ('a', 'c', 'openid', 10, 'd1'), ('b', 'c', 'openid', 10, NULL)",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT jti, digest FROM access_tokens")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![("a".to_owned(), "d1".to_owned())]);
    }

    #[test]
    fn grants_are_rebuilt_without_losing_their_tokens() {
        // A database from before 0006, with a grant and what hangs on it.
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn.execute_batch(
            "INSERT INTO users (sub, email, password_hash, created_at, updated_at) VALUES ('u', 'u@x', 'h', 0, 0);
             INSERT INTO grants (id, sub, client_id, scopes, created_at) VALUES ('g', 'u', 'c', 'openid', 0);
             INSERT INTO refresh_tokens (digest, grant_id, created_at, expires_at) VALUES ('r', 'g', 0, 9);
             INSERT INTO access_tokens (jti, digest, grant_id, client_id, scopes, expires_at) VALUES ('a', 'd', 'g', 'c', 'openid', 9);
             INSERT INTO auth_codes (digest, client_id, sub, redirect_uri, scopes, sid, auth_time, amr, expires_at)
                 VALUES ('k', 'c', 'u', 'https://rp/cb', 'openid', 's', 0, 'pwd', 9);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let count = |table: &str| -> i64 {
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        for table in ["grants", "refresh_tokens", "access_tokens"] {
            assert_eq!(count(table), 1, "{table}");
        }
        assert_eq!(count("auth_codes"), 0, "codes in flight are not kept");
        conn.execute(
            "INSERT INTO auth_codes (id, digest, client_id, sub, redirect_uri, scopes, sid, auth_time, amr, expires_at) \
             VALUES ('k', 'd', 'c', 'u', 'https://rp/cb', 'openid', 's', 0, 'pwd', 9)",
            [],
        )
        .unwrap();
        // The references still hold: removing the citizen removes it all.
        conn.execute("DELETE FROM users WHERE sub = 'u'", [])
            .unwrap();
        for table in ["grants", "refresh_tokens", "access_tokens", "auth_codes"] {
            assert_eq!(count(table), 0, "{table}");
        }
    }

    #[tokio::test]
    async fn the_wal_starts_over_under_constant_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(dir.path(), 8, Duration::from_millis(50)).unwrap();
        store
            .run(|c| c.execute_sql("CREATE TABLE t (v BLOB)"))
            .await
            .unwrap();
        // About 1.5 s of writes, three pages each: 900 frames written in all.
        for _ in 0..300 {
            store
                .run(|c| c.execute_sql("INSERT INTO t VALUES (zeroblob(10000))"))
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let wal = std::fs::metadata(dir.path().join("sesame.db-wal")).unwrap();
        assert!(wal.len() < 400 * 4096, "WAL of {} bytes", wal.len());
        let rows: i64 = store
            .run(|c| c.query_i64("SELECT COUNT(*) FROM t"))
            .await
            .unwrap();
        assert_eq!(rows, 300);
    }

    #[tokio::test]
    async fn a_reader_answers_while_the_database_thread_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::Sqlite(dir.path().to_owned());
        let store = Store::open(&database).unwrap();
        store
            .run(|tx| {
                tx.execute_sql(
                    "INSERT INTO users (sub, email, password_hash, created_at, updated_at) \
                     VALUES ('u', 'u@example.test', 'h', 0, 0)",
                )
            })
            .await
            .unwrap();
        // A long job holds the database thread until the reader is done.
        let (busy, is_busy) = mpsc::channel::<()>();
        let (done, is_done) = mpsc::channel::<()>();
        let long = store.run(move |tx| {
            busy.send(()).unwrap();
            is_done.recv_timeout(Duration::from_secs(10)).unwrap();
            tx.query_i64("SELECT 1")
        });
        let reader = tokio::task::spawn_blocking(move || {
            is_busy.recv().unwrap();
            let reader = open_reader(&database).unwrap();
            let counts = stats::counts(&reader.tx(), 0).unwrap();
            done.send(()).unwrap();
            counts.citizens
        });
        let (long, counted) = tokio::join!(long, reader);
        let counted = counted.unwrap();
        assert_eq!(counted, 1, "the committed row, read beside the busy thread");
        assert_eq!(long.unwrap(), 1);
    }

    #[tokio::test]
    async fn cancelled_requests_leave_the_database_usable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Database::Sqlite(dir.path().to_owned())).unwrap();
        for _ in 0..12 {
            let slow = store.run(|conn| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                conn.query_i64("SELECT 1")
            });
            // Dropped before completion, as when a client disconnects.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(1), slow).await;
        }
        for _ in 0..8 {
            let one = store.run(|conn| conn.query_i64("SELECT 1")).await.unwrap();
            assert_eq!(one, 1);
        }
    }
}
