//! Health probes for the operator's supervisor and load balancer (DESIGN
//! §4b): `live` says the process serves HTTP, `ready` that the database
//! answers too. Both are cheap, carry no data and are not logged.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::http::paths;

/// How long readiness waits for the database before saying it is not ready.
const READY_DEADLINE: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::HEALTH_LIVE, get(live))
        .route(paths::HEALTH_READY, get(ready))
}

async fn live() -> Response {
    probe(StatusCode::OK, "live")
}

async fn ready(State(app): State<AppState>) -> Response {
    let answer = tokio::time::timeout(READY_DEADLINE, app.store.ping()).await;
    match answer {
        Ok(Ok(())) => probe(StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            probe(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer in time");
            probe(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

fn probe(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        text,
    )
        .into_response()
}
