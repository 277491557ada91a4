//! The shared state, built once at start (config, clients, keys, database,
//! compiled pages, password hasher, mailer), and the background work that
//! runs beside the server (housekeeping, SIGHUP reload, mail and
//! back-channel workers). Knows nothing of HTTP: the entry point builds the
//! pages and the router (`http::server`) around it.

use std::sync::{Arc, RwLock};

use crate::accounts::password::Hasher;
use crate::backchannel::Backchannel;
use crate::config::{Clients, Config, ConfigError};
use crate::keys::{KeyError, KeyRing};
use crate::mail::Mailer;
use crate::pages::Pages;
use crate::private_files;
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
    pub clients: ClientsHandle,
    pub keys: Arc<KeyRing>,
    pub store: Store,
    pub hasher: Hasher,
    pub pages: Pages,
    pub backchannel: Arc<Backchannel>,
    pub mailer: Arc<Mailer>,
    /// The key binding CSRF tokens to their browser (kept in the database).
    pub csrf_key: [u8; 32],
}

pub type AppState = Arc<App>;

/// The clients of `clients.toml`, shared by the handlers and the
/// back-channel worker, replaced as a whole on reload.
#[derive(Clone)]
pub struct ClientsHandle(Arc<RwLock<Arc<Clients>>>);

impl ClientsHandle {
    pub fn new(clients: Clients) -> ClientsHandle {
        ClientsHandle(Arc::new(RwLock::new(Arc::new(clients))))
    }

    /// The current clients.
    pub fn current(&self) -> Arc<Clients> {
        match self.0.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, fresh: Clients) {
        match self.0.write() {
            Ok(mut c) => *c = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
    }
}

impl App {
    /// Loads clients, keys and database for `config`; `pages` are compiled
    /// by the caller (the entry point, which knows where they are served).
    pub fn build(config: Config, pages: Pages) -> Result<App, StartError> {
        let clients = config.load_clients()?;
        let data_dir_error = |e| StartError::DataDir(config.data_dir.display().to_string(), e);
        std::fs::create_dir_all(&config.data_dir).map_err(data_dir_error)?;
        private_files::restrict_dir(&config.data_dir).map_err(data_dir_error)?;
        let keys = KeyRing::load_or_create(&config.keys_dir, now())?
            .activating_after(config.tokens.jwks_max_age);
        let open_keys = private_files::readable_by_others(&config.keys_dir);
        if !open_keys.is_empty() {
            tracing::warn!(
                paths = %open_keys.join(", "),
                "signing keys readable by other users: chmod 700 the key folder and 600 its files"
            );
        }
        // On a thread of its own: this may run inside the async runtime,
        // where the PostgreSQL client must not block.
        let csrf_key = std::thread::scope(|s| {
            s.spawn(|| {
                let db = crate::store::open_for_cli(&config.database)?;
                let fresh = crate::secrets::random_key();
                crate::store::server_secrets::get_or_create(&db.tx(), "csrf", &fresh, now())
            })
            .join()
            .unwrap_or(Err(crate::store::Error::Worker))
        })?;
        let store = Store::open(&config.database)?;
        if let crate::store::Database::Sqlite(dir) = &config.database {
            let db = crate::store::database_file(dir);
            let (wal, shm) = (db.with_extension("db-wal"), db.with_extension("db-shm"));
            private_files::restrict_files(&[&db, &wal, &shm]).map_err(data_dir_error)?;
        }
        let backchannel = Backchannel::new().map_err(StartError::Backchannel)?;
        let mailer = Arc::new(Mailer::new(&config.mail).map_err(StartError::Mail)?);
        Ok(App {
            config,
            clients: ClientsHandle::new(clients),
            keys: Arc::new(keys),
            store,
            hasher: Hasher::default(),
            pages,
            backchannel: Arc::new(backchannel),
            mailer,
            csrf_key,
        })
    }

    /// The current clients (replaced as a whole on reload).
    pub fn clients(&self) -> Arc<Clients> {
        self.clients.current()
    }

    /// Re-reads `clients.toml`; on error (an empty file is one) the old
    /// clients stay.
    pub fn reload_clients(&self) -> Result<usize, ConfigError> {
        reload_clients(&self.config, &self.clients)
    }

    pub fn now(&self) -> i64 {
        now()
    }
}

fn reload_clients(config: &Config, clients: &ClientsHandle) -> Result<usize, ConfigError> {
    let fresh = config.reload_clients()?;
    let count = fresh.len();
    clients.replace(fresh);
    Ok(count)
}

/// Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Starts the background work beside the server: housekeeping, the mail
/// and back-channel workers, and the clients' reload on SIGHUP. Each gets
/// what it needs, not the whole state.
pub fn spawn_workers(app: &App) {
    crate::housekeeping::spawn(
        app.store.clone(),
        crate::housekeeping::Housekeeping::of(&app.config),
    );
    crate::backchannel::spawn(crate::backchannel::Worker {
        store: app.store.clone(),
        clients: app.clients.clone(),
        keys: app.keys.clone(),
        issuer: app.config.issuer.clone(),
        backchannel: app.backchannel.clone(),
    });
    crate::mail::spawn_worker(app.store.clone(), app.mailer.clone());
    #[cfg(unix)]
    spawn_reload_on_sighup(app.config.clone(), app.clients.clone(), app.keys.clone());
    spawn_key_watch(app.keys.clone(), app.config.tokens.jwks_max_age);
}

/// Reads the key folder again whenever its files change: nodes sharing a
/// `keys_dir` all publish a key that `keys rotate` made on any of them. A
/// new key signs only once the JWKS cache lifetime has passed since it was
/// made, so checking a few times within that lifetime has every node
/// publish it before any signs with it.
fn spawn_key_watch(keys: Arc<KeyRing>, jwks_max_age: i64) {
    let every = std::time::Duration::from_secs((jwks_max_age / 4).clamp(1, 30).unsigned_abs());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ring = keys.clone();
            match tokio::task::spawn_blocking(move || ring.reload_if_changed()).await {
                Ok(Ok(Some(n))) => {
                    tracing::info!(published = n, "signing keys changed on disk; reloaded")
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(
                    error = %e,
                    "signing keys changed but cannot be read; keeping the previous keys"
                ),
                Err(e) => tracing::error!(error = %e, "signing keys check stopped"),
            }
        }
    });
}

/// Reloads `clients.toml` and the signing keys on SIGHUP; a bad file
/// keeps the old clients, a bad key folder the old keys.
#[cfg(unix)]
fn spawn_reload_on_sighup(config: Config, clients: ClientsHandle, keys: Arc<KeyRing>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; clients.toml and keys reload disabled");
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match reload_clients(&config, &clients) {
                Ok(n) => tracing::info!(clients = n, "clients.toml reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "clients.toml reload failed; keeping the previous clients")
                }
            }
            // Reading PEM files and preparing RSA keys: off the executor.
            let ring = keys.clone();
            match tokio::task::spawn_blocking(move || ring.reload()).await {
                Ok(Ok(n)) => tracing::info!(published = n, "signing keys reloaded"),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "signing keys reload failed; keeping the previous keys")
                }
                Err(e) => tracing::error!(error = %e, "signing keys reload stopped"),
            }
        }
    });
}
