//! A real Sésame on 127.0.0.1:0 with a temporary folder, a browser (an HTTP
//! client with a cookie jar that does not follow redirects) and helpers to
//! walk the pages.

#![allow(dead_code)]

use std::sync::Arc;

use sesame::app::AppState;

pub use crate::common::instance::PASSWORD;
pub use crate::common::web::{browser, hidden, location, rp_http, text_of, unescape};

pub const BASIC_SECRET: &str = "basic-secret-0123456789abcdef0123456789";
pub const POST_SECRET: &str = "post-secret-0123456789abcdef0123456789ab";
pub const CC_SECRET: &str = "service-secret-0123456789abcdef012345678";
pub const REDIRECT: &str = "http://127.0.0.1:9/cb";

pub fn clients_toml() -> String {
    let digest = sesame::secrets::sha256_prefixed;
    format!(
        r#"
[[client]]
id = "rp-basic"
name = "Espace Citoyens"
secret = "{basic}"
auth_method = "client_secret_basic"
redirect_uris = ["{REDIRECT}", "http://127.0.0.1:9/other"]
post_logout_redirect_uris = ["http://127.0.0.1:9/bye"]
scopes = ["openid", "email", "profile", "address", "phone", "roles", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
consent = "required"
privacy_policy_url = "https://example.org/confidentialite"

[[client]]
id = "rp-post"
name = "Bibliothèque"
secret = "{post}"
auth_method = "client_secret_post"
redirect_uris = ["{REDIRECT}"]
scopes = ["openid", "email", "profile"]
grant_types = ["authorization_code"]
consent = "required"

[[client]]
id = "spa"
name = "Conservatoire"
auth_method = "none"
redirect_uris = ["{REDIRECT}"]
scopes = ["openid", "email", "profile", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
consent = "required"

[[client]]
id = "city-es256"
name = "Services techniques"
secret = "{post}"
redirect_uris = ["{REDIRECT}"]
scopes = ["openid", "email", "roles"]
consent = "implicit"
id_token_alg = "ES256"

[[client]]
id = "service"
name = "Back-office"
secret = "{cc}"
scopes = ["openid", "roles"]
grant_types = ["client_credentials"]
"#,
        basic = digest(BASIC_SECRET),
        post = digest(POST_SECRET),
        cc = digest(CC_SECRET),
    )
}

pub struct TestServer {
    pub base: String,
    pub app: AppState,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Whether this run is on PostgreSQL (`SESAME_TEST_POSTGRES`), for the
    /// tests of what only that backend does.
    pub fn on_postgresql(&self) -> bool {
        matches!(
            self.app.config.database,
            sesame::store::Database::Postgres(_)
        )
    }

    pub async fn start() -> TestServer {
        TestServer::start_with("").await
    }

    /// Starts with `extra` appended to sesame.toml.
    pub async fn start_with(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let running = crate::common::server::start(dir.path(), &clients_toml(), extra).await;
        TestServer {
            base: running.base,
            app: running.app,
            dir,
        }
    }

    /// Starts with `more` clients appended to clients.toml.
    pub async fn start_with_clients(more: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let clients = format!("{}\n{more}", clients_toml());
        let running = crate::common::server::start(dir.path(), &clients, "").await;
        TestServer {
            base: running.base,
            app: running.app,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a citizen directly in the store (test set-up).
    pub async fn add_user(&self, email: &str, verified: bool) -> String {
        let mut user = crate::common::server::citizen(email, sesame::app::now());
        user.email_verified = verified;
        user.given_name = Some("Nathalie".into());
        user.family_name = Some("Test".into());
        user.preferred_username = Some("Test DSI".into());
        user.gender = Some("female".into());
        user.birthdate = Some("1977-01-01".into());
        user.phone_number = Some("+33145252623".into());
        user.street_address = Some("14 rue Louis Talamoni".into());
        user.postal_code = Some("94500".into());
        user.locality = Some("Champigny-sur-Marne".into());
        user.country = Some("FR".into());
        user.roles = vec!["citizen".into()];
        crate::common::server::insert(&self.app, user).await
    }
}

/// Resolves a Location against the server.
pub fn absolute(server: &TestServer, location: &str) -> String {
    if location.starts_with('/') {
        server.url(location)
    } else {
        location.to_owned()
    }
}

/// Query parameters of a URL.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Opens an authorization URL in `browser`, signs in if asked, consents if
/// asked; returns the final redirect to the client.
pub async fn sign_in_and_consent(
    server: &TestServer,
    browser: &reqwest::Client,
    auth_url: &str,
    email: &str,
) -> String {
    let mut next = browser.get(auth_url).send().await.unwrap();
    assert!(
        next.status().is_redirection(),
        "authorize answered {}: {}",
        next.status(),
        next.text().await.unwrap()
    );
    for _ in 0..4 {
        let loc = location(&next);
        if !loc.starts_with('/') {
            return loc;
        }
        let page_url = server.url(&loc);
        let page = browser.get(&page_url).send().await.unwrap();
        assert_eq!(page.status(), 200, "{page_url}");
        let html = page.text().await.unwrap();
        let form: Vec<(&str, String)> = if loc.starts_with("/login") {
            vec![
                ("csrf", hidden(&html, "csrf")),
                ("interaction", hidden(&html, "interaction")),
                ("email", email.to_owned()),
                ("password", PASSWORD.to_owned()),
            ]
        } else if loc.starts_with("/consent") {
            vec![
                ("csrf", hidden(&html, "csrf")),
                ("interaction", hidden(&html, "interaction")),
                ("decision", "accept".to_owned()),
            ]
        } else {
            panic!("unexpected page {loc}");
        };
        let action = if loc.starts_with("/login") {
            "/login"
        } else {
            "/consent"
        };
        next = browser
            .post(server.url(action))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            next.status().is_redirection(),
            "{action} answered {}: {}",
            next.status(),
            next.text().await.unwrap()
        );
    }
    panic!("too many pages");
}

pub type Shared<T> = Arc<T>;

pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// An authorization URL for `rp-basic` with `extra` parameters appended.
pub fn auth_url(server: &TestServer, extra: &str) -> String {
    server.url(&format!(
        "/authorize?client_id=rp-basic&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid%20email&state=st4te{extra}"
    ))
}

/// Redeems a code for `rp-basic` (no PKCE) and returns the JSON answer.
pub async fn redeem(server: &TestServer, code: &str) -> (reqwest::StatusCode, serde_json::Value) {
    let response = rp_http()
        .post(server.url("/token"))
        .basic_auth("rp-basic", Some(BASIC_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The claims of a JWT, without checking it (tests check signatures with
/// the `openidconnect` crate elsewhere).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A signed-in browser (consented to `rp-basic` for openid email) and the
/// tokens of that first flow.
pub async fn signed_in(server: &TestServer, email: &str) -> (reqwest::Client, serde_json::Value) {
    server.add_user(email, true).await;
    let browser = browser();
    let callback = sign_in_and_consent(server, &browser, &auth_url(server, ""), email).await;
    let (status, tokens) = redeem(server, &query(&callback)["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    (browser, tokens)
}

/// Opens the login page at `path` (it carries the interaction), signs in as
/// `email` with [`PASSWORD`], and returns where the browser is sent next.
pub async fn submit_login(
    server: &TestServer,
    browser: &reqwest::Client,
    path: &str,
    email: &str,
) -> String {
    let html = text_of(browser, server.url(path)).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", hidden(&html, "interaction")),
        ("email", email.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    location(
        &browser
            .post(server.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
}

/// Posts the bare login page (no pending request) as `b`: the answer as it is.
pub async fn post_bare_login(
    server: &TestServer,
    b: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let html = text_of(b, server.url("/login")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
        ("password", password.to_owned()),
    ];
    b.post(server.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Another process's transaction holding the database's writers' lock (a
/// stuck maintenance job, another node's long write) until the returned
/// sender is used or dropped; returns once the lock is held.
pub fn hold_the_writers_lock(
    server: &TestServer,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let database = server.app.config.database.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let db = sesame::store::open_for_cli(&database).unwrap();
        db.hold_writes().unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv();
        db.tx().execute_sql("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();
    (release_tx, holder)
}
