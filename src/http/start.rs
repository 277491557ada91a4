//! What `sesame serve` (and the integration tests) start: the state and
//! its router built around it, the listening socket, and the server with
//! its background work beside it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use tokio::net::TcpListener;

use super::{discovery, paths, server};
use crate::app::{self, App, AppState, StartError};
use crate::config::Config;
use crate::pages::Pages;

/// Builds the pages compiled for the paths they are served under, the
/// state around them, and the router, whose discovery document and JWKS
/// are serialised once here.
pub fn build(config: Config) -> Result<(Router, AppState), StartError> {
    if config.metrics_listen.is_some() {
        crate::metrics::install();
    }
    let pages = Pages::served_under(paths::STYLESHEET, config.issuer_path())
        .map_err(StartError::Templates)?;
    let app = Arc::new(App::build(config, pages)?);
    let account = format!("{}{}", app.config.issuer, paths::ACCOUNT);
    app.mailer.set_account_url(account);
    let prepared = discovery::Prepared::new(&app.config, app.keys.clone());
    super::assets::prepare();
    Ok((super::router(app.clone(), prepared), app))
}

/// Binds `config.listen`.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Listen(config.listen.to_string(), e))
}

/// Serves on `listener` until the process ends, with the background work
/// (housekeeping, mail, back-channel logouts, reload on SIGHUP) beside it.
pub async fn run(listener: TcpListener, router: Router, app: AppState) -> std::io::Result<()> {
    run_until(listener, router, app, std::future::pending()).await
}

/// [`run`] until `shutdown` completes; then stops accepting and lets the
/// requests in flight finish.
pub async fn run_until(
    listener: TcpListener,
    router: Router,
    app: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Workers first: SIGHUP is handled from here on, so whoever waits for
    // the line below may send it.
    app::spawn_workers(&app);
    let listen = listener.local_addr()?;
    tracing::info!(issuer = %app.config.issuer, %listen, clients = app.clients().len(), "Sésame is listening");
    if let Some(addr) = app.config.metrics_listen {
        let metrics = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr} (metrics_listen): {e}"),
            )
        })?;
        if let Some(handle) = crate::metrics::install() {
            tracing::info!(%addr, "metrics at /metrics");
            crate::metrics::spawn_gauges(app.config.database.clone(), handle.clone());
            super::metrics::spawn_exporter(metrics, handle);
        }
    }
    let database_stopped = AtomicBool::new(false);
    let stop = stop_on(shutdown, &app.store, &database_stopped);
    server::serve(listener, router, &app.config.server, stop).await?;
    if database_stopped.load(Ordering::Relaxed) {
        return Err(std::io::Error::other(
            "the database thread stopped; Sésame stops so that it can be started again",
        ));
    }
    Ok(())
}

/// Completes on `shutdown`, or when the database thread ended (noted in
/// `database_stopped`): a node that can write nothing stops, and fails,
/// so that its supervisor (systemd's `Restart=on-failure`, an
/// orchestrator) starts it again.
async fn stop_on(
    shutdown: impl Future<Output = ()>,
    store: &crate::store::Store,
    database_stopped: &AtomicBool,
) {
    tokio::select! {
        () = shutdown => {}
        () = store.stopped() => database_stopped.store(true, Ordering::Relaxed),
    }
}
