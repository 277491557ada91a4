//! PostgreSQL under the same [`Store`]: several Sésame nodes on one
//! database (`database_url`).
//!
//! The domain's jobs were written for SQLite, where jobs run one after the
//! other: a job reads, decides and writes without anyone writing between.
//! PostgreSQL keeps that meaning across every node: each transaction first
//! takes one advisory lock ([`BEGIN_WRITES`]), so transactions of all nodes
//! follow each other as SQLite's do. Like SQLite's, this node's database
//! thread runs the jobs waiting at a given moment in one transaction, each
//! inside its own savepoint (group commit: one lock, one commit for many
//! requests), with statements prepared once per connection.

use std::cell::RefCell;
use std::sync::mpsc;
use std::time::Duration;

use super::tx::{PgConn, Tx};
use super::{Error, Job, MAX_BATCH, Result, Store};

/// The advisory lock migrations are applied under, so that nodes starting
/// together migrate once.
const MIGRATING: i64 = 1_582_972_417;

/// Opens a transaction under the writers' lock (one round trip): every
/// transaction holds it, so at most one runs at a time on the database.
pub(super) const BEGIN_WRITES: &str = "BEGIN; SELECT pg_advisory_xact_lock(1582972416)";

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
fn connect(url: &str) -> Result<PgConn> {
    let config: postgres::Config = url.parse()?;
    let client = config.connect(postgres::NoTls)?;
    Ok(PgConn::new(client))
}

/// Connects, applies the migrations and starts the database thread.
/// The client blocks on a runtime of its own, which it may not do inside
/// another: it is only ever used on the database thread, where it connects
/// too (the caller, maybe on the async runtime, waits for that once).
pub(super) fn open(url: &str) -> Result<Store> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let (opened, open) = mpsc::sync_channel::<Result<()>>(1);
    let url = url.to_owned();
    std::thread::Builder::new()
        .name("sesame-db".into())
        .spawn(move || {
            let conn = connect(&url).and_then(|mut conn| {
                migrate(&mut conn.client)?;
                Ok(conn)
            });
            match conn {
                Ok(conn) => {
                    let _ = opened.send(Ok(()));
                    run_jobs(conn, &url, &queue);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            }
        })
        .map_err(|_| Error::Worker)?;
    open.recv().map_err(|_| Error::Worker)??;
    Ok(Store { jobs })
}

/// Connects for a one-off command (CLI), migrated.
pub(super) fn open_for_cli(url: &str) -> Result<super::Db> {
    let mut conn = connect(url)?;
    migrate(&mut conn.client)?;
    Ok(super::Db::pg(conn))
}

/// The database thread: batches as on SQLite; reconnects when the
/// connection was lost (jobs meanwhile fail, and readiness says so).
fn run_jobs(conn: PgConn, url: &str, queue: &mpsc::Receiver<Job>) {
    let conn = RefCell::new(conn);
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.borrow().client.is_closed() {
            match connect(url) {
                Ok(fresh) => *conn.borrow_mut() = fresh,
                Err(e) => {
                    tracing::error!(error = %e, "database: cannot reconnect");
                    // Dropping the jobs answers each caller with an error.
                    drop(batch);
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            }
        }
        run_batch(&conn, batch);
    }
}

/// Runs a batch in one transaction under the writers' lock. A lone job
/// needs no savepoint: the transaction is its own.
fn run_batch(conn: &RefCell<PgConn>, batch: Vec<Job>) {
    crate::metrics::db_batch(batch.len());
    let tx = Tx::pg(conn);
    let control = |sql: &str| conn.borrow_mut().client.batch_execute(sql);
    if let Err(e) = control(BEGIN_WRITES) {
        tracing::error!(error = %e, "database: cannot begin a transaction");
        return;
    }
    conn.borrow_mut().in_transaction = true;
    let alone = batch.len() == 1;
    let mut answers = Vec::with_capacity(batch.len());
    let mut kept_any = false;
    for job in batch {
        if !alone && control("SAVEPOINT job").is_err() {
            continue;
        }
        // A panic in one job must not take the database away from the others.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tx)));
        let keep = matches!(&done, Ok(d) if d.ok);
        kept_any |= keep;
        if !alone {
            let end = if keep {
                control("RELEASE job")
            } else {
                control("ROLLBACK TO job; RELEASE job")
            };
            if let Err(e) = end {
                tracing::error!(error = %e, "database: cannot end a savepoint");
            }
        }
        match done {
            Ok(done) => answers.push(done),
            Err(_) => tracing::error!("a database job panicked"),
        }
    }
    conn.borrow_mut().in_transaction = false;
    let end = if alone && !kept_any {
        control("ROLLBACK").map(|()| true)
    } else {
        control("COMMIT").map(|()| true)
    };
    let committed = end.unwrap_or_else(|e| {
        tracing::error!(error = %e, "database: commit failed");
        let _ = control("ROLLBACK");
        false
    });
    for done in answers {
        // A lone job undone by its rollback still gets its own answer (its
        // error), as a job undone by its savepoint does.
        (done.answer)(committed);
    }
}

/// Applies the migrations not applied yet, each in a transaction, under a
/// session lock so that two nodes starting together do not race.
fn migrate(client: &mut postgres::Client) -> Result<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATING])?;
    let result = apply(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATING]);
    result?;
    unlocked?;
    Ok(())
}

fn apply(client: &mut postgres::Client) -> Result<()> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS sesame_migrations (
             version    BIGINT PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let applied: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM sesame_migrations",
            &[],
        )?
        .try_get(0)?;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= applied {
            continue;
        }
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO sesame_migrations (version, name) VALUES ($1, $2)",
            &[&version, name],
        )?;
        tx.commit()?;
        tracing::info!(migration = name, "database: PostgreSQL migration applied");
    }
    Ok(())
}
