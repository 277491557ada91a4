//! The portal's application: settings, shared state, router, start-up.
//!
//! Why a `mod.rs` folder and not a library target: examples cannot be
//! imported by tests, and a second library crate would be heavier than
//! this. So `main.rs` declares `mod portal;` and `tests/portal.rs`
//! includes this same file with `#[path = "../examples/citizen_portal/portal/mod.rs"]`;
//! being a `mod.rs`, its submodules resolve to this folder in both cases.
//! The test then runs [`app`] in-process, next to an in-process Sésame.

#![allow(dead_code)]

pub mod backchannel;
pub mod db;
pub mod error;
pub mod handlers;
pub mod link;
pub mod pages;
pub mod rp;
pub mod session;
pub mod throttle;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

/// The demo client's secret (`sesame::config::clients::DEMO_CLIENT_SECRET`).
pub const DEMO_SECRET: &str = "demo-secret-portail-citoyen-change-me";

/// Where the portal's pages live.
pub mod paths {
    pub const HOME: &str = "/";
    pub const LOGIN: &str = "/se-connecter";
    pub const CALLBACK: &str = "/callback";
    pub const LINK: &str = "/rapprochement";
    pub const LINK_EXISTING: &str = "/rapprochement/lier";
    pub const LINK_CREATE: &str = "/rapprochement/creer";
    pub const ACTIVATED: &str = "/rapprochement/active";
    pub const ACCOUNT: &str = "/mon-compte";
    pub const ACCOUNT_REFRESH: &str = "/mon-compte/actualiser";
    pub const LOGOUT: &str = "/se-deconnecter";
    pub const BACKCHANNEL_LOGOUT: &str = "/backchannel-logout";
    pub const PRIVACY: &str = "/confidentialite";
    pub const STYLESHEET: &str = "/static/portal.css";
}

/// The portal's settings.
#[derive(Clone)]
pub struct Config {
    /// Sésame's issuer URL.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The portal's own base URL (redirect and post-logout URIs derive from it).
    pub public_url: String,
    /// Folder of `portal.sqlite`.
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl Config {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}

/// Everything a request may need.
pub struct Portal {
    pub config: Config,
    pub db: db::Db,
    pub pages: pages::Pages,
    pub rp: rp::Rp,
}

pub type State = Arc<Portal>;

impl Portal {
    pub fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// Opens the database (seeding the demo account) and prepares the pages.
/// The provider is discovered lazily, at the first sign-in, so the portal
/// may start before Sésame.
pub async fn build(config: Config) -> Result<State, String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("data folder {}: {e}", config.data_dir.display()))?;
    let db = db::Db::open(&config.data_dir.join("portal.sqlite"))?;
    db.seed_demo().await?;
    let pages = pages::Pages::new()?;
    let rp = rp::Rp::new(&config)?;
    Ok(Arc::new(Portal {
        config,
        db,
        pages,
        rp,
    }))
}

/// The portal's routes.
pub fn app(state: State) -> Router {
    use handlers as h;
    Router::new()
        .route(paths::HOME, get(h::home))
        .route(paths::LOGIN, get(h::login))
        .route(paths::CALLBACK, get(h::callback))
        .route(paths::LINK, get(link::choices))
        .route(paths::LINK_EXISTING, post(link::existing))
        .route(paths::LINK_CREATE, get(link::create_form).post(link::create))
        .route(paths::ACTIVATED, get(link::activated))
        .route(paths::ACCOUNT, get(h::account))
        .route(paths::ACCOUNT_REFRESH, post(h::account_refresh))
        .route(paths::LOGOUT, post(h::logout))
        .route(paths::BACKCHANNEL_LOGOUT, post(backchannel::receive))
        .route(paths::PRIVACY, get(h::privacy))
        .route(paths::STYLESHEET, get(h::stylesheet))
        .fallback(h::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
        ))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .with_state(state)
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Builds the portal and serves it on `listener` until the process ends.
pub async fn serve(config: Config, listener: TcpListener) -> Result<(), String> {
    let state = build(config).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, issuer = %state.config.issuer, "Espace Citoyens listening");
    spawn_purge(state.clone());
    axum::serve(listener, app(state))
        .await
        .map_err(|e| e.to_string())
}

/// Removes expired sessions every few minutes.
fn spawn_purge(state: State) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = state.now();
            if let Err(e) = state.db.run(move |c| db::purge_expired(c, now)).await {
                tracing::warn!(error = %e, "purge failed");
            }
        }
    });
}
