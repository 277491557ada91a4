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
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

/// Counts and times one request (a `Router::layer`, so the route is known).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = response.status().as_u16();
    crate::metrics::request(route, method.as_str(), status, started.elapsed());
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
