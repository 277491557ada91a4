//! Housekeeping: every five minutes, the rows nobody can use any more are
//! removed — expired access tokens, codes, grants, sessions and pending
//! requests, stale throttle counters, old links and audit events.
//!
//! Each table is purged a small batch at a time (`store::expired`), each
//! batch its own database job: a request queued meanwhile waits for one
//! batch (a few milliseconds), never for the whole purge, however many rows
//! expired at once (docs/performance.md measures it).

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::store::{self, Store, Tx, expired::Batch};

/// Rows a batch of tokens, codes, sessions or pending requests looks at,
/// at most: about 2 ms of the database thread (docs/performance.md).
const BATCH: usize = 1_000;
/// Grants a batch removes, at most: each takes its refresh and access
/// tokens along.
const GRANT_BATCH: usize = 250;
/// The time a batch should take at most. Every request queued meanwhile
/// waits for it; on a machine busy with other work the same thousand rows
/// took up to 300 ms, so a batch that took longer than this makes the next
/// one half as long.
const BATCH_TIME: Duration = Duration::from_millis(8);
/// Rest between two batches, in multiples of the last batch's time: the
/// purge takes at most a quarter of the database thread.
const REST: u32 = 3;
/// How often housekeeping runs.
const EVERY: Duration = Duration::from_secs(300);

/// What the purge of expired rows needs to know.
pub struct Housekeeping {
    access_token_ttl: i64,
    unverified_ttl_days: i64,
    /// Throttle counters quiet for longer than any run or window are
    /// stale: they would start over at their next use anyway.
    throttle_quiet: i64,
    audit_retention_days: i64,
}

impl Housekeeping {
    pub fn of(config: &Config) -> Housekeeping {
        let policy = &config.policy;
        let quiet = [
            86_400,
            policy.login_limits.account.forget_after_seconds,
            policy.login_limits.client.forget_after_seconds,
            policy.pending_requests.window_seconds,
        ];
        Housekeeping {
            access_token_ttl: config.tokens.access_token_ttl,
            unverified_ttl_days: config.policy.unverified_account_ttl_days,
            throttle_quiet: quiet.into_iter().max().unwrap_or(86_400),
            audit_retention_days: config.policy.audit_retention_days,
        }
    }
}

/// Runs housekeeping now, then every five minutes, for as long as the
/// runtime lives.
pub fn spawn(store: Store, settings: Housekeeping) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            run_once(&store, &settings, crate::app::now()).await;
        }
    });
}

/// One pass over every table; logs what it removed and how long it took.
pub async fn run_once(store: &Store, settings: &Housekeeping, now: i64) {
    let started = Instant::now();
    // Codes and access tokens are kept a day past their expiry, grants a
    // day past the end of their last access token.
    let day_ago = now - 86_400;
    let ended = now - settings.access_token_ttl - 86_400;
    let mut longest = Duration::ZERO;
    let access_tokens = in_batches(
        store,
        &mut longest,
        (String::new(), BATCH),
        move |tx, from: String, limit| store::expired::access_tokens(tx, &from, day_ago, limit),
    )
    .await;
    let codes = in_batches(
        store,
        &mut longest,
        (String::new(), BATCH),
        move |tx, from: String, limit| store::expired::codes(tx, &from, day_ago, limit),
    )
    .await;
    let grants = in_batches(
        store,
        &mut longest,
        ((), GRANT_BATCH),
        move |tx, (), limit| store::expired::grants(tx, ended, limit),
    )
    .await;
    let sessions = in_batches(store, &mut longest, (0, BATCH), move |tx, from, limit| {
        store::expired::sessions(tx, from, now, limit)
    })
    .await;
    let interactions = in_batches(store, &mut longest, (0, BATCH), move |tx, from, limit| {
        store::expired::interactions(tx, from, now, limit)
    })
    .await;
    small_tables(store, settings, now).await;
    purge_audit(store, settings.audit_retention_days, now).await;
    tracing::info!(
        access_tokens,
        codes,
        grants,
        sessions,
        interactions,
        ms = started.elapsed().as_millis() as u64,
        longest_batch_ms = longest.as_millis() as u64,
        "housekeeping done"
    );
}

/// Runs `step` as one database job per batch, from `start`'s key with
/// batches of at most `start`'s length, until it says the walk is over,
/// with a pause between batches; returns the rows removed. A failed batch
/// ends the walk (logged); the next pass starts it again.
async fn in_batches<K, F>(
    store: &Store,
    longest: &mut Duration,
    (start, most): (K, usize),
    step: F,
) -> usize
where
    K: Send + 'static,
    F: Fn(&Tx<'_>, K, usize) -> store::Result<Batch<K>> + Clone + Send + 'static,
{
    let mut removed = 0;
    let mut from = start;
    let mut limit = most;
    let mut rest;
    loop {
        let step = step.clone();
        let timed = store.run(move |tx| {
            let started = Instant::now();
            step(tx, from, limit).map(|batch| (batch, started.elapsed()))
        });
        match timed.await {
            Ok((batch, took)) => {
                removed += batch.removed;
                *longest = (*longest).max(took);
                rest = took * REST;
                limit = next_limit(limit, took, most);
                match batch.next {
                    Some(next) => from = next,
                    None => return removed,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "housekeeping batch failed");
                return removed;
            }
        }
        // Each batch writes its pages to the WAL. Back to back, a purge of
        // millions filled the WAL every 1.5 s, and each time the database
        // thread had to finish a checkpoint itself (40–120 ms) with
        // requests waiting (docs/performance.md).
        tokio::time::sleep(rest).await;
    }
}

/// The length of the next batch after one of `limit` rows took `took`:
/// half as long when it took more than [`BATCH_TIME`], a quarter longer
/// (up to `most`) when it took less than half of it, so that batches stay
/// short on a busy machine and the purge regains its pace when it is quiet
/// again. Never under a twentieth of `most`, so a purge always advances.
fn next_limit(limit: usize, took: Duration, most: usize) -> usize {
    let least = (most / 20).max(1);
    if took > BATCH_TIME {
        (limit / 2).max(least)
    } else if took < BATCH_TIME / 2 {
        (limit + limit.div_ceil(4)).min(most)
    } else {
        limit
    }
}

/// Tables that stay small (throttle counters, links, pending sign-ups,
/// limit records): one job.
async fn small_tables(store: &Store, settings: &Housekeeping, now: i64) {
    let unverified_ttl_days = settings.unverified_ttl_days;
    let stale = now - settings.throttle_quiet;
    let result = store
        .run(move |tx| {
            crate::accounts::links::housekeeping(tx, now, unverified_ttl_days)?;
            store::throttle::purge(tx, stale)
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "housekeeping failed");
    }
}

/// Purges old audit events one small job at a time, so that a year's
/// worth expiring at once never holds the database thread for long.
async fn purge_audit(store: &Store, retention_days: i64, now: i64) {
    loop {
        let purged = store
            .run(move |tx| crate::accounts::audit::purge(tx, now, retention_days))
            .await;
        match purged {
            Ok(n) if n as i64 >= crate::accounts::audit::PURGE_BATCH => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "audit purge failed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_while_slow_and_grow_back_once_quick() {
        let (slow, quick) = (BATCH_TIME * 4, BATCH_TIME / 4);
        let mut limit = BATCH;
        limit = next_limit(limit, slow, BATCH);
        assert_eq!(limit, BATCH / 2);
        for _ in 0..10 {
            limit = next_limit(limit, slow, BATCH);
        }
        assert_eq!(limit, BATCH / 20, "never under a twentieth");
        assert_eq!(next_limit(limit, BATCH_TIME * 3 / 4, BATCH), limit);
        let mut batches = 0;
        while limit < BATCH {
            limit = next_limit(limit, quick, BATCH);
            batches += 1;
        }
        assert_eq!(limit, BATCH, "back to the full length, never past it");
        assert!(batches <= 15, "{batches} quick batches to get there");
        assert_eq!(next_limit(1, slow, 1), 1, "a batch of one stays one");
    }
}
