//! Prometheus metrics (`metrics_listen`): the names Sésame reports, one
//! function per event so names and labels are written once, and the
//! gauges refreshed from the database on a timer.
//!
//! Without `metrics_listen` no recorder is installed and every call here
//! is a no-op of the `metrics` crate (one atomic load), so the hot paths
//! pay nothing. The recorder is process-wide: installed once, shared by
//! every server a process starts (the integration tests start several).

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::{self, Database};

const HTTP_REQUESTS: &str = "sesame_http_requests_total";
const HTTP_DURATION: &str = "sesame_http_request_duration_seconds";
const TOKENS_ISSUED: &str = "sesame_tokens_issued_total";
const SIGN_INS: &str = "sesame_sign_ins_total";
const SIGN_UPS: &str = "sesame_sign_ups_total";
const VERIFICATIONS: &str = "sesame_email_verifications_total";
const RESETS: &str = "sesame_password_resets_total";
const MAILS: &str = "sesame_mails_total";
const MAIL_QUEUE_PENDING: &str = "sesame_mail_queue_pending";
const MAIL_QUEUE_AGE: &str = "sesame_mail_queue_oldest_age_seconds";
const BACKCHANNEL: &str = "sesame_backchannel_deliveries_total";
const DB_JOB_DURATION: &str = "sesame_db_job_duration_seconds";
const DB_BATCH_SIZE: &str = "sesame_db_batch_size";
const DB_SHARED_READS: &str = "sesame_db_shared_reads";
const DB_CONTENDED: &str = "sesame_db_contended_total";
const CITIZENS: &str = "sesame_citizens";
const LIVE_SESSIONS: &str = "sesame_live_sessions";

/// Latency buckets, in seconds: from a cached discovery answer (tens of
/// microseconds) to a password check under load (a second or more).
const LATENCY_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0,
];
/// Jobs per database transaction (the database thread takes at most 64).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
/// Reads answered by one statement (PostgreSQL takes at most 256).
const SHARED_READS_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often the gauges are read from the database.
const GAUGE_INTERVAL: Duration = Duration::from_secs(15);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// A request counter and latency histogram, for one (method, status) of a route.
type RequestHandles = HashMap<(String, u16), (Counter, Histogram)>;

/// Handles of the metrics recorded on every request or database job,
/// registered once: building a metric's key and finding it in the
/// registry at each event cost more than the event itself (a fifth of a
/// discovery answer). Set only once the recorder is installed.
struct Hot {
    db_job: Histogram,
    db_batch: Histogram,
    db_shared_reads: Histogram,
    /// route → (method, status) → the request counter and histogram.
    requests: RwLock<HashMap<String, RequestHandles>>,
}

static HOT: OnceLock<Hot> = OnceLock::new();

/// Installs the process-wide recorder (the first call does; later calls
/// return the same handle). `None` if another recorder was installed.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(DB_BATCH_SIZE.into()), BATCH_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(DB_SHARED_READS.into()),
                        SHARED_READS_BUCKETS,
                    )
                })
                .map_err(|e| tracing::error!(error = %e, "metrics: bad buckets"))
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .map_err(
                    |e| tracing::error!(error = %e, "metrics: a recorder is installed already"),
                )
                .ok()?;
            describe();
            let _ = HOT.set(Hot {
                db_job: histogram!(DB_JOB_DURATION),
                db_batch: histogram!(DB_BATCH_SIZE),
                db_shared_reads: histogram!(DB_SHARED_READS),
                requests: RwLock::new(HashMap::new()),
            });
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(HTTP_DURATION, "HTTP request latency by route template");
    describe_counter!(TOKENS_ISSUED, "Token responses by grant type and client");
    describe_counter!(
        SIGN_INS,
        "Sign-ins by outcome (succeeded, failed, throttled)"
    );
    describe_counter!(SIGN_UPS, "Accounts created");
    describe_counter!(VERIFICATIONS, "Email addresses verified");
    describe_counter!(RESETS, "Passwords reset by email link");
    describe_counter!(MAILS, "Mails by state (queued, sent, failed attempt)");
    describe_gauge!(MAIL_QUEUE_PENDING, "Mails waiting for delivery");
    describe_gauge!(MAIL_QUEUE_AGE, "Age of the oldest mail waiting");
    describe_counter!(BACKCHANNEL, "Back-channel logout deliveries by outcome");
    describe_histogram!(DB_JOB_DURATION, "Database job latency, queueing included");
    describe_histogram!(DB_BATCH_SIZE, "Jobs per database transaction");
    describe_histogram!(
        DB_SHARED_READS,
        "Reads answered by one statement (PostgreSQL)"
    );
    describe_counter!(
        DB_CONTENDED,
        "Hot jobs run again where writers take turns (PostgreSQL)"
    );
    describe_gauge!(CITIZENS, "Citizen accounts");
    describe_gauge!(LIVE_SESSIONS, "Unexpired sign-in sessions");
}

/// How a sign-in attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum SignIn {
    Succeeded,
    Failed,
    Throttled,
}

pub fn sign_in(outcome: SignIn) {
    let outcome = match outcome {
        SignIn::Succeeded => "succeeded",
        SignIn::Failed => "failed",
        SignIn::Throttled => "throttled",
    };
    counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// Only issued tokens are counted: `grant_type` is one of the three known.
pub fn token_issued(grant_type: String, client: &str) {
    counter!(TOKENS_ISSUED, "grant_type" => grant_type, "client" => client.to_owned()).increment(1);
}

pub fn signed_up() {
    counter!(SIGN_UPS).increment(1);
}

pub fn verified() {
    counter!(VERIFICATIONS).increment(1);
}

pub fn password_reset() {
    counter!(RESETS).increment(1);
}

/// `state`: `queued`, `sent` or `failed` (a failed attempt; it is retried).
pub fn mail(state: &'static str) {
    counter!(MAILS, "state" => state).increment(1);
}

/// `outcome`: `delivered`, `refused` (by the client), `failed` (retried)
/// or `abandoned`.
pub fn backchannel(outcome: &'static str) {
    counter!(BACKCHANNEL, "outcome" => outcome).increment(1);
}

/// Whether metrics are recorded at all (`metrics_listen` is set), so the
/// callers can skip even reading the clock.
pub fn enabled() -> bool {
    HOT.get().is_some()
}

pub fn db_job(elapsed: Duration) {
    if let Some(hot) = HOT.get() {
        hot.db_job.record(elapsed.as_secs_f64());
    }
}

pub fn db_batch(jobs: usize) {
    if let Some(hot) = HOT.get() {
        hot.db_batch.record(jobs as f64);
    }
}

/// A hot job ran again where writers take turns (a row another
/// transaction held, or a throttle counter to change): each counted as it
/// happens.
pub fn db_contended() {
    if HOT.get().is_some() {
        counter!(DB_CONTENDED).increment(1);
    }
}

/// One statement sent for `reads` reads of it (PostgreSQL's shared reads).
pub fn db_shared_reads(reads: usize) {
    if let Some(hot) = HOT.get() {
        hot.db_shared_reads.record(reads as f64);
    }
}

/// One HTTP request: `route` is the route template.
pub fn request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let Some(hot) = HOT.get() else {
        return;
    };
    let record = |(count, latency): &(Counter, Histogram)| {
        count.increment(1);
        latency.record(elapsed.as_secs_f64());
    };
    let known = match hot.requests.read() {
        Ok(map) => map
            .get(route)
            .and_then(|by| by.iter().find(|((m, s), _)| m == method && *s == status))
            .map(|(_, handles)| record(handles))
            .is_some(),
        Err(_) => false,
    };
    if known {
        return;
    }
    // First time for this (route, method, status): register its handles.
    let labels = [("route", route.to_owned()), ("method", method.to_owned())];
    let handles = (
        counter!(
            HTTP_REQUESTS,
            &[
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ]
        ),
        histogram!(HTTP_DURATION, &labels),
    );
    record(&handles);
    if let Ok(mut map) = hot.requests.write() {
        map.entry(route.to_owned())
            .or_default()
            .insert((method.to_owned(), status), handles);
    }
}

/// Reads the gauges from the database every [`GAUGE_INTERVAL`], and runs
/// the exporter's upkeep (histogram windows), until the runtime ends.
///
/// The counts read whole tables (a million citizens' worth), so they run
/// on a thread and a connection of their own, never as a job of the
/// database thread that every request queued meanwhile would wait for.
pub fn spawn_gauges(database: Database, handle: PrometheusHandle) {
    let (ticks, ticked) = std::sync::mpsc::channel::<i64>();
    let reader = std::thread::Builder::new()
        .name("sesame-gauges".into())
        .spawn(move || read_gauges(&database, &ticked));
    if let Err(e) = reader {
        tracing::warn!(error = %e, "metrics: cannot start the gauges' thread");
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(GAUGE_INTERVAL);
        loop {
            tick.tick().await;
            handle.run_upkeep();
            // The thread stops with this task (its channel closes).
            if ticks.send(crate::app::now()).is_err() {
                return;
            }
        }
    });
}

/// The gauges' thread: one count per tick, on a connection opened at the
/// first and opened again after a failure.
fn read_gauges(database: &Database, ticked: &std::sync::mpsc::Receiver<i64>) {
    let mut reader = None;
    while let Ok(now) = ticked.recv() {
        if reader.is_none() {
            reader = store::open_reader(database)
                .map_err(|e| tracing::warn!(error = %e, "metrics: cannot open the database"))
                .ok();
        }
        let Some(db) = &reader else { continue };
        match store::stats::counts(&db.tx(), now) {
            Ok(c) => {
                gauge!(CITIZENS).set(c.citizens as f64);
                gauge!(LIVE_SESSIONS).set(c.live_sessions as f64);
                gauge!(MAIL_QUEUE_PENDING).set(c.mails_pending as f64);
                let age = c.oldest_mail_at.map_or(0, |at| (now - at).max(0));
                gauge!(MAIL_QUEUE_AGE).set(age as f64);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the gauges");
                reader = None;
            }
        }
    }
}
