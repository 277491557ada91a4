//! Back-Channel Logout 1.0 delivery (§2.5): a worker that POSTs the queued
//! logout tokens (`backchannel_logouts`) to each client's
//! `backchannel_logout_uri` as the form field `logout_token`, and retries
//! with back-off (`oidc::logout::RETRY_DELAYS`) when the client is down or
//! answers 5xx. The queue is in SQLite, so a restart loses nothing.
//!
//! The worker wakes when a logout queued something, and otherwise sleeps
//! until the next delivery is due. Redirects are not followed; each POST has
//! a short timeout so one slow client cannot hold the others back.

use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;

use std::sync::Arc;

use crate::app::{ClientsHandle, now};
use crate::keys::KeyRing;
use crate::oidc::logout::{self, DeliveryOutcome, LogoutTokenSpec};
use crate::store::backchannel::{self as queue, Delivery};
use crate::store::{self, Store};

/// Deliveries attempted together at most.
const BATCH: usize = 32;
/// How long a leased delivery stays hidden (longer than any attempt).
const LEASE_SECONDS: i64 = 60;
/// The longest sleep between two looks at the queue.
const MAX_SLEEP_SECONDS: i64 = 60;

/// The outgoing HTTP client and the worker's wake-up call.
pub struct Backchannel {
    http: reqwest::Client,
    wake: Notify,
}

impl Backchannel {
    pub fn new() -> Result<Backchannel, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("Sesame/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Backchannel {
            http,
            wake: Notify::new(),
        })
    }

    /// Tells the worker that something was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the delivery worker.
/// What the delivery worker needs: the queue, the clients (for their
/// back-channel URIs, as reloaded), the keys that sign logout tokens.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub clients: ClientsHandle,
    pub keys: Arc<KeyRing>,
    pub issuer: String,
    pub backchannel: Arc<Backchannel>,
}

pub fn spawn(worker: Worker) {
    tokio::spawn(async move {
        let worker = Arc::new(worker);
        loop {
            let next = match deliver_due(&worker).await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "back-channel logout queue unavailable");
                    Some(now() + MAX_SLEEP_SECONDS / 2)
                }
            };
            let wait = next.map_or(MAX_SLEEP_SECONDS, |at| {
                (at - now()).clamp(0, MAX_SLEEP_SECONDS)
            });
            tokio::select! {
                () = worker.backchannel.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(wait.unsigned_abs())) => {}
            }
        }
    });
}

/// Attempts every due delivery; returns when the next one is due.
async fn deliver_due(worker: &Arc<Worker>) -> Result<Option<i64>, store::Error> {
    let now = now();
    let due = worker
        .store
        .run(move |conn| queue::lease_due(conn, now, now + LEASE_SECONDS, BATCH))
        .await?;
    let mut attempts = JoinSet::new();
    for delivery in due {
        let worker = Arc::clone(worker);
        attempts.spawn(async move {
            let result = attempt(&worker, &delivery).await;
            (delivery, result)
        });
    }
    while let Some(joined) = attempts.join_next().await {
        // A failed task leaves its delivery leased: it comes back later.
        if let Ok((delivery, result)) = joined {
            settle(worker, delivery, result).await?;
        }
    }
    worker.store.run(queue::next_due).await
}

/// What became of one attempt.
enum Attempt {
    Answered(DeliveryOutcome, Option<u16>),
    /// The client is gone from `clients.toml` or no longer wants logouts.
    NoLongerWanted,
}

async fn attempt(worker: &Worker, d: &Delivery) -> Attempt {
    let clients = worker.clients.current();
    let Some(client) = clients.get(&d.client_id) else {
        return Attempt::NoLongerWanted;
    };
    let Some(uri) = client.backchannel_logout_uri.clone() else {
        return Attempt::NoLongerWanted;
    };
    let spec = LogoutTokenSpec {
        client_id: &d.client_id,
        sub: &d.sub,
        sid: &d.sid,
        jti: &d.jti,
        iat: now(),
    };
    let token =
        match logout::sign_logout_token(&worker.keys, client.id_token_alg, &worker.issuer, &spec) {
            Ok(token) => token,
            Err(e) => {
                tracing::error!(error = %e, "cannot sign a logout token");
                return Attempt::Answered(DeliveryOutcome::Retry, None);
            }
        };
    let status = worker
        .backchannel
        .http
        .post(uri)
        .form(&[("logout_token", token)])
        .send()
        .await
        .ok()
        .map(|response| response.status().as_u16());
    Attempt::Answered(logout::outcome(status), status)
}

async fn settle(worker: &Worker, d: Delivery, result: Attempt) -> Result<(), store::Error> {
    let now = now();
    let (client, attempt) = (d.client_id.as_str(), d.attempts);
    let retry = match result {
        Attempt::NoLongerWanted => None,
        Attempt::Answered(DeliveryOutcome::Delivered, _) => {
            tracing::info!(client, attempt, "back-channel logout delivered");
            crate::metrics::backchannel("delivered");
            None
        }
        Attempt::Answered(DeliveryOutcome::Refused, status) => {
            tracing::warn!(
                client,
                attempt,
                ?status,
                "back-channel logout refused by the client"
            );
            crate::metrics::backchannel("refused");
            None
        }
        Attempt::Answered(DeliveryOutcome::Retry, status) => {
            let at = logout::retry_at(attempt, now);
            crate::metrics::backchannel(if at.is_some() { "failed" } else { "abandoned" });
            match at {
                Some(_) => tracing::info!(
                    client,
                    attempt,
                    ?status,
                    "back-channel logout failed; will retry"
                ),
                None => tracing::warn!(
                    client,
                    attempt,
                    ?status,
                    "back-channel logout failed; giving up"
                ),
            }
            at
        }
    };
    worker
        .store
        .run(move |conn| match retry {
            Some(at) => queue::reschedule(conn, d.id, at),
            None => queue::remove(conn, d.id),
        })
        .await
}
