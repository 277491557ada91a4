//! The shared state (built once at start: config, clients, keys, templates,
//! discovery document) and the server's start-up.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use tokio::net::TcpListener;

use crate::accounts::password::Hasher;
use crate::config::{Clients, Config, ConfigError};
use crate::http::pages::Pages;
use crate::keys::{KeyError, KeyRing};
use crate::mail::Mailer;
use crate::store::{self, Store};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Keys(#[from] KeyError),
    #[error("{0}")]
    Store(#[from] store::Error),
    #[error("data folder {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("templates: {0}")]
    Templates(String),
    #[error("back-channel logout HTTP client: {0}")]
    Backchannel(String),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("mail: {0}")]
    Mail(String),
}

/// Everything a request may need, prepared once.
pub struct App {
    pub config: Config,
    clients: RwLock<Arc<Clients>>,
    pub keys: KeyRing,
    pub store: Store,
    pub hasher: Hasher,
    pub pages: Pages,
    /// The discovery document and the JWKS, serialised once.
    pub discovery: Bytes,
    pub jwks: Bytes,
    pub backchannel: crate::backchannel::Backchannel,
    pub mailer: Arc<Mailer>,
}

pub type AppState = Arc<App>;

impl App {
    /// Loads clients, keys, database and templates for `config`.
    pub fn build(config: Config) -> Result<App, StartError> {
        let clients = config.load_clients()?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StartError::DataDir(config.data_dir.display().to_string(), e))?;
        let keys = KeyRing::load_or_create(&config.keys_dir, now())?;
        let store = Store::open(&config.data_dir)?;
        let pages = Pages::new().map_err(|e| StartError::Templates(e.to_string()))?;
        let discovery = Bytes::from(crate::http::discovery::document(&config).to_string());
        let jwks = Bytes::from(keys.jwks_json().to_owned());
        let backchannel =
            crate::backchannel::Backchannel::new().map_err(StartError::Backchannel)?;
        let mailer = Arc::new(Mailer::new(&config.mail).map_err(StartError::Mail)?);
        Ok(App {
            config,
            clients: RwLock::new(Arc::new(clients)),
            keys,
            store,
            hasher: Hasher::default(),
            pages,
            discovery,
            jwks,
            backchannel,
            mailer,
        })
    }

    /// The current clients (replaced as a whole on reload).
    pub fn clients(&self) -> Arc<Clients> {
        match self.clients.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads `clients.toml`; on error the old clients stay.
    pub fn reload_clients(&self) -> Result<usize, ConfigError> {
        let fresh = self.config.load_clients()?;
        let count = fresh.len();
        match self.clients.write() {
            Ok(mut c) => *c = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(count)
    }

    pub fn now(&self) -> i64 {
        now()
    }
}

/// Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Builds the application and its router.
pub fn router(config: Config) -> Result<(Router, AppState), StartError> {
    let app = Arc::new(App::build(config)?);
    Ok((crate::http::router(app.clone()), app))
}

/// Serves on `listener` until the process ends. Reloads clients on SIGHUP,
/// purges expired rows every few minutes, and delivers back-channel logouts.
pub async fn serve(listener: TcpListener, router: Router, app: AppState) -> std::io::Result<()> {
    serve_until(listener, router, app, std::future::pending()).await
}

/// [`serve`] until `shutdown` completes; then stops accepting and lets the
/// requests in flight finish.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    app: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    spawn_housekeeping(app.clone());
    crate::backchannel::spawn(app.clone());
    crate::mail::spawn_worker(app.store.clone(), app.mailer.clone());
    #[cfg(unix)]
    spawn_reload_on_sighup(app.clone());
    crate::http::server::serve(listener, router, &app.config.server, shutdown).await
}

/// Binds `config.listen`.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Listen(config.listen.to_string(), e))
}

fn spawn_housekeeping(app: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = app.now();
            let ended = now - app.config.tokens.access_token_ttl - 86_400;
            let unverified_ttl_days = app.config.policy.unverified_account_ttl_days;
            let result = app
                .store
                .run(move |conn| {
                    crate::store::sessions::purge_expired(conn, now)?;
                    crate::store::interactions::purge_expired(conn, now)?;
                    crate::store::grants::purge_codes(conn, now - 86_400)?;
                    crate::store::grants::purge_grants(conn, ended)?;
                    crate::accounts::links::housekeeping(conn, now, unverified_ttl_days)?;
                    crate::store::grants::purge_access_tokens(conn, now - 86_400)
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
}

#[cfg(unix)]
fn spawn_reload_on_sighup(app: AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; clients.toml reload disabled");
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match app.reload_clients() {
                Ok(n) => tracing::info!(clients = n, "clients.toml reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "clients.toml reload failed; keeping the previous clients")
                }
            }
        }
    });
}
