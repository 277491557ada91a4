//! Sésame in-process on 127.0.0.1:0, and citizens put straight into its
//! store (test set-up that needs no sign-up journey).

use std::path::Path;

use sesame::accounts::users::Email;
use sesame::app::AppState;
use sesame::config::Config;
use sesame::store::users::User;

use super::instance::{PASSWORD, write_instance};

/// A running in-process Sésame.
pub struct Running {
    /// `http://127.0.0.1:<port>`, also its issuer.
    pub base: String,
    pub app: AppState,
}

/// Writes an instance in `dir` (see [`write_instance`]) for a fresh port
/// and serves it in-process until the test's runtime ends.
pub async fn start(dir: &Path, clients_toml: &str, extra: &str) -> Running {
    start_as(dir, None, clients_toml, extra).await
}

/// [`start`] with another issuer than the server's own address (as behind
/// a reverse proxy).
pub async fn start_as(
    dir: &Path,
    issuer: Option<&str>,
    clients_toml: &str,
    extra: &str,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    let base = format!("http://{addr}");
    let issuer = issuer.unwrap_or(&base);
    let path = write_instance(dir, issuer, &addr.to_string(), clients_toml, extra);
    let config = Config::load(&path).expect("the test's sesame.toml");
    let (router, app) = sesame::http::start::build(config).expect("Sésame starts");
    tokio::spawn(sesame::http::start::run(listener, router, app.clone()));
    Running { base, app }
}

/// A citizen with [`PASSWORD`], to be completed by the caller.
pub fn citizen(email: &str, created_at: i64) -> User {
    let hash = sesame::accounts::password::hash_blocking(PASSWORD).expect("argon2");
    let email = Email::parse(email).expect("a test address");
    sesame::accounts::users::new_user(&email, hash, created_at)
}

/// Stores `user` (as `sesame user add` would) and returns its `sub`.
pub async fn insert(app: &AppState, user: User) -> String {
    let sub = user.sub.clone();
    app.store
        .run(move |conn| sesame::store::users::insert(conn, &user))
        .await
        .expect("the citizen is stored");
    sub
}
