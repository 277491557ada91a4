//! The metrics' HTTP side: a layer that counts and times each request by
//! its route template (`/token`, never a raw path: no label per code or
//! token), and the `/metrics` listener on `metrics_listen`, apart from the
//! public address so that only the monitoring network reaches it.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, histogram};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::metrics::{HTTP_DURATION, HTTP_REQUESTS};

/// Counts and times one request (a `Router::layer`, so the route is known).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method.clone()).record(elapsed);
    counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status).increment(1);
    response
}

/// Serves `GET /metrics` on `listener` until the runtime ends.
pub fn spawn_exporter(listener: TcpListener, handle: PrometheusHandle) {
    let router = Router::new()
        .route("/metrics", get(render))
        .with_state(handle);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
}

async fn render(State(handle): State<PrometheusHandle>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}
