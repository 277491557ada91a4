//! On PostgreSQL, concurrent reads of one statement share one execution:
//! the reads waiting while the last ones are out go together, their
//! parameters as arrays, each row tagged with the read it answers. What a
//! statement costs the database beyond its rows (a transaction, a
//! snapshot, the executor set up, a round trip and its wake-ups) is then
//! paid once for the batch instead of once a request — the same trade as
//! the writers' group commit. Nothing waits for company: a read arriving
//! while none of its statement is out is sent at once.
//!
//! The statement `SELECT … WHERE id = ?1` becomes
//!
//! ```sql
//! SELECT q.*, sesame_batch.n
//! FROM unnest($1::pg_catalog.text[]) WITH ORDINALITY AS sesame_batch(p1, n)
//! CROSS JOIN LATERAL (SELECT … WHERE id = sesame_batch.p1) AS q
//! ```
//!
//! which runs the statement once per set of parameters, all in one
//! snapshot taken after every read in it was asked for: each read sees at
//! least what it would have seen alone. Its columns come first, so a job
//! reads its rows as it would the statement's own. If the batch fails
//! (a parameter the database refuses), each read runs alone, so that it
//! fails alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use postgres_protocol::types::{ArrayDimension, array_to_sql};
use tokio::sync::oneshot;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

use super::tx::{Encoded, placeholders_as};
use super::{Error, Result};

/// The most reads one statement answers: beyond, the rest go next, so
/// that a crowd of reads does not make one batch everyone waits on.
const MAX_READS: usize = 256;

/// The reads waiting, by their statement's SQL text.
#[derive(Default)]
pub(super) struct SharedReads {
    queues: Mutex<HashMap<String, Queue>>,
}

/// The reads of one statement.
struct Queue {
    /// The statement rewritten to answer a batch (see the module).
    batched: Arc<str>,
    waiting: Vec<Waiting>,
    /// Whether a task is sending this statement's batches.
    sending: bool,
    /// False once the database refused the rewritten statement: each read
    /// is then sent alone.
    batchable: bool,
}

/// A read waiting for its batch, and where its rows go.
pub(super) struct Waiting {
    pub(super) params: Vec<Encoded>,
    pub(super) answer: oneshot::Sender<Result<Vec<tokio_postgres::Row>>>,
}

/// What the caller must do after queuing a read.
pub(super) enum Next {
    /// Wait: a task is sending this statement's batches.
    Wait,
    /// Start a task sending `sql`'s batches (with a [`Sender`]).
    Send { batched: Arc<str> },
    /// Send this read alone: its statement cannot be batched.
    Alone(Waiting),
}

impl SharedReads {
    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `read` of `sql`, whose parameters are of `types`.
    pub(super) fn queue(&self, sql: &str, types: &[Type], read: Waiting) -> Next {
        let mut queues = self.queues();
        let queue = match queues.get_mut(sql) {
            Some(queue) => queue,
            None => queues.entry(sql.to_owned()).or_insert(Queue {
                batched: batched(sql, types).into(),
                waiting: Vec::new(),
                sending: false,
                batchable: true,
            }),
        };
        if !queue.batchable {
            return Next::Alone(read);
        }
        queue.waiting.push(read);
        if queue.sending {
            return Next::Wait;
        }
        queue.sending = true;
        Next::Send {
            batched: Arc::clone(&queue.batched),
        }
    }

    /// The database refused `sql` rewritten: its reads go alone from now.
    pub(super) fn unbatchable(&self, sql: &str) {
        if let Some(queue) = self.queues().get_mut(sql) {
            queue.batchable = false;
        }
    }
}

/// The task sending one statement's batches, one after the other.
pub(super) struct Sender<'a> {
    reads: &'a SharedReads,
    sql: &'a str,
    stopped: bool,
}

impl<'a> Sender<'a> {
    pub(super) fn new(reads: &'a SharedReads, sql: &'a str) -> Self {
        Sender {
            reads,
            sql,
            stopped: false,
        }
    }

    /// The reads waiting now, as the next batch; none once there is
    /// nothing left to send (the next read then starts a sender).
    pub(super) fn take(&mut self) -> Vec<Waiting> {
        let mut queues = self.reads.queues();
        let Some(queue) = queues.get_mut(self.sql) else {
            self.stopped = true;
            return Vec::new();
        };
        let batch: Vec<Waiting> = match queue.waiting.len() > MAX_READS {
            true => queue.waiting.drain(..MAX_READS).collect(),
            false => std::mem::take(&mut queue.waiting),
        };
        if batch.is_empty() {
            queue.sending = false;
            self.stopped = true;
        }
        batch
    }
}

impl Drop for Sender<'_> {
    /// A sender that stopped early (it panicked, or the runtime is
    /// shutting down) drops the reads left, which then fail, and lets the
    /// next read start another.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if let Some(queue) = self.reads.queues().get_mut(self.sql) {
            queue.waiting.clear();
            queue.sending = false;
        }
    }
}

/// `sql` (with `?N` placeholders) rewritten to answer a batch of reads
/// whose parameters are of `types` (see the module).
pub(super) fn batched(sql: &str, types: &[Type]) -> String {
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("${}::{}.{}[]", i + 1, ty.schema(), ty.name()))
        .collect();
    let columns: Vec<String> = (1..=types.len()).map(|i| format!("p{i}")).collect();
    format!(
        "SELECT q.*, sesame_batch.n FROM unnest({}) WITH ORDINALITY AS sesame_batch({}, n) \
         CROSS JOIN LATERAL ({}) AS q",
        arrays.join(", "),
        columns.join(", "),
        placeholders_as(sql, "sesame_batch.p"),
    )
}

/// The `index`th parameter of every read of a batch, as one array.
pub(super) struct Column<'a> {
    pub(super) reads: &'a [Waiting],
    pub(super) index: usize,
}

impl std::fmt::Debug for Column<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Column(..)")
    }
}

impl ToSql for Column<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let Kind::Array(member) = ty.kind() else {
            return Err(format!("a batch's parameter is a {ty}, not an array").into());
        };
        let dimension = ArrayDimension {
            len: i32::try_from(self.reads.len())?,
            lower_bound: 1,
        };
        let elements = self
            .reads
            .iter()
            .map(|read| read.params[self.index].bytes());
        array_to_sql(
            Some(dimension),
            member.oid(),
            elements,
            |element, out| match element {
                Some(bytes) => {
                    out.extend_from_slice(bytes);
                    Ok(postgres_protocol::IsNull::No)
                }
                None => Ok(postgres_protocol::IsNull::Yes),
            },
            out,
        )?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), Kind::Array(_))
    }

    to_sql_checked!();
}

/// A batch's rows handed to the reads they answer: each row's last column
/// is the 1-based place of its read in the batch.
pub(super) fn split(
    rows: Vec<tokio_postgres::Row>,
    reads: usize,
) -> Result<Vec<Vec<tokio_postgres::Row>>> {
    let mut answers: Vec<Vec<tokio_postgres::Row>> = (0..reads).map(|_| Vec::new()).collect();
    for row in rows {
        // The place is the last column; an empty row fails, never panics.
        let place: i64 = row.try_get(row.len().saturating_sub(1))?;
        let answer = usize::try_from(place - 1)
            .ok()
            .and_then(|i| answers.get_mut(i))
            .ok_or_else(|| Error::Internal(format!("a batch's row names read {place}")))?;
        answer.push(row);
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_rewritten_to_run_once_per_read_with_its_place_last() {
        let sql = "SELECT a, b FROM t WHERE a = ?1 AND (b = ?2 OR ?2 IS NULL)";
        assert_eq!(
            batched(sql, &[Type::TEXT, Type::INT8]),
            "SELECT q.*, sesame_batch.n FROM unnest($1::pg_catalog.text[], \
             $2::pg_catalog.int8[]) WITH ORDINALITY AS sesame_batch(p1, p2, n) \
             CROSS JOIN LATERAL (SELECT a, b FROM t WHERE a = sesame_batch.p1 AND \
             (b = sesame_batch.p2 OR sesame_batch.p2 IS NULL)) AS q"
        );
    }

    type Answer = oneshot::Receiver<Result<Vec<tokio_postgres::Row>>>;

    fn read() -> (Waiting, Answer) {
        let (answer, rows) = oneshot::channel();
        let read = Waiting {
            params: Vec::new(),
            answer,
        };
        (read, rows)
    }

    fn queue(reads: &SharedReads, sql: &str) -> (Next, Answer) {
        let (read, rows) = read();
        (reads.queue(sql, &[Type::TEXT], read), rows)
    }

    #[test]
    fn the_first_read_sends_and_those_arriving_meanwhile_wait_for_the_next_batch() {
        let reads = SharedReads::default();
        assert!(matches!(queue(&reads, "A").0, Next::Send { .. }));
        assert!(
            matches!(queue(&reads, "B").0, Next::Send { .. }),
            "another statement"
        );
        let mut sender = Sender::new(&reads, "A");
        assert_eq!(sender.take().len(), 1);
        assert!(matches!(queue(&reads, "A").0, Next::Wait));
        assert!(matches!(queue(&reads, "A").0, Next::Wait));
        assert_eq!(sender.take().len(), 2, "the next batch: both");
        for _ in 0..MAX_READS + 1 {
            let _ = queue(&reads, "A");
        }
        assert_eq!(sender.take().len(), MAX_READS, "a crowd: at most");
        assert_eq!(sender.take().len(), 1, "then the rest");
        assert!(sender.take().is_empty(), "nothing left: the sender stops");
        drop(sender);
        assert!(matches!(queue(&reads, "A").0, Next::Send { .. }));
    }

    #[test]
    fn a_sender_that_stops_early_fails_the_reads_left_and_another_starts() {
        let reads = SharedReads::default();
        let _ = queue(&reads, "A");
        let mut sender = Sender::new(&reads, "A");
        assert_eq!(sender.take().len(), 1);
        let (_, mut left) = queue(&reads, "A");
        drop(sender);
        assert!(left.try_recv().is_err(), "the read left is dropped");
        assert!(matches!(queue(&reads, "A").0, Next::Send { .. }));
    }

    #[test]
    fn a_statement_the_database_cannot_batch_sends_its_reads_alone() {
        let reads = SharedReads::default();
        let _ = queue(&reads, "A");
        reads.unbatchable("A");
        assert!(matches!(queue(&reads, "A").0, Next::Alone(_)));
    }
}
