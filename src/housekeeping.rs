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

/// Rows a batch of tokens, codes, sessions or pending requests looks at:
/// about 2 ms of the database thread (docs/performance.md).
const BATCH: usize = 1_000;
/// Grants a batch removes: each takes its refresh and access tokens along.
const GRANT_BATCH: usize = 250;
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
        String::new(),
        move |tx, from: String| store::expired::access_tokens(tx, &from, day_ago, BATCH),
    )
    .await;
    let codes = in_batches(
        store,
        &mut longest,
        String::new(),
        move |tx, from: String| store::expired::codes(tx, &from, day_ago, BATCH),
    )
    .await;
    let grants = in_batches(store, &mut longest, (), move |tx, ()| {
        store::expired::grants(tx, ended, GRANT_BATCH)
    })
    .await;
    let sessions = in_batches(store, &mut longest, 0, move |tx, from| {
        store::expired::sessions(tx, from, now, BATCH)
    })
    .await;
    let interactions = in_batches(store, &mut longest, 0, move |tx, from| {
        store::expired::interactions(tx, from, now, BATCH)
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

/// Runs `step` as one database job per batch, from `start` until it says
/// the walk is over, with a pause between batches; returns the rows
/// removed. A failed batch ends the walk (logged); the next pass starts it
/// again.
async fn in_batches<K, F>(store: &Store, longest: &mut Duration, start: K, step: F) -> usize
where
    K: Send + 'static,
    F: Fn(&Tx<'_>, K) -> store::Result<Batch<K>> + Clone + Send + 'static,
{
    let mut removed = 0;
    let mut from = start;
    let mut rest;
    loop {
        let step = step.clone();
        let timed = store.run(move |tx| {
            let started = Instant::now();
            step(tx, from).map(|batch| (batch, started.elapsed()))
        });
        match timed.await {
            Ok((batch, took)) => {
                removed += batch.removed;
                *longest = (*longest).max(took);
                rest = took * REST;
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
