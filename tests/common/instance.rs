//! A test instance's files: `sesame.toml` and `clients.toml` in a
//! temporary folder, a free port, and the one password test citizens use.

use std::path::{Path, PathBuf};

/// The password of every test citizen (it passes the default policy).
pub const PASSWORD: &str = "Correct-Horse-42";

/// A port free at the time of the call, for servers started as processes
/// (in-process servers bind port 0 themselves).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Writes `clients.toml` and a `sesame.toml` for `issuer` on `listen`, with
/// `extra` appended to the latter; returns the path of `sesame.toml`.
pub fn write_instance(
    dir: &Path,
    issuer: &str,
    listen: &str,
    clients_toml: &str,
    extra: &str,
) -> PathBuf {
    std::fs::write(dir.join("clients.toml"), clients_toml).expect("clients.toml");
    let config = dir.join("sesame.toml");
    // An `extra` naming its database (nodes sharing one) keeps it.
    let database = match extra.contains("database_url") {
        false => postgres_database().map(|url| format!("database_url = \"{url}\"\n")),
        true => None,
    };
    let database = database.unwrap_or_default();
    std::fs::write(
        &config,
        format!(
            "issuer = \"{issuer}\"\nlisten = \"{listen}\"\nclients_file = \"clients.toml\"\n{database}{extra}"
        ),
    )
    .expect("sesame.toml");
    config
}

/// The PostgreSQL server the tests run on instead of SQLite, when
/// `SESAME_TEST_POSTGRES` names one (`postgres://user@host:port`, no
/// database): `.ci/run` runs the API suite once on each backend.
pub const POSTGRES_ENV: &str = "SESAME_TEST_POSTGRES";

/// With [`POSTGRES_ENV`] set, a fresh database on that server for one
/// instance (so tests never see each other's rows), by URL; else `None`.
pub fn postgres_database() -> Option<String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let server = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty())?;
    let server = server.trim_end_matches('/').to_owned();
    let name = format!(
        "sesame_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let admin = format!("{server}/postgres");
    let create = format!("CREATE DATABASE {name}");
    // The synchronous client may not block inside the test's runtime.
    std::thread::spawn(move || {
        let mut client =
            postgres::Client::connect(&admin, postgres::NoTls).expect("the test PostgreSQL server");
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| drop_left_behind(&mut client));
        client.batch_execute(&create).expect("a test database");
    })
    .join()
    .expect("the test database is created");
    Some(format!("{server}/{name}"))
}

/// Drops the test databases of earlier test processes that have ended
/// (their names carry their process id): on a long-lived server they
/// would pile up, ~11 MB each, a couple of GB per run of the API suite.
/// `scripts/test` throws its whole cluster away anyway.
fn drop_left_behind(client: &mut postgres::Client) {
    // Whether a process has ended is read from /proc (Linux).
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rows) = client.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'sesame\\_test\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let ended = pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if ended {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The portal `examples/citizen_portal` at `portal`, declared as an
/// administrator would, with the secret `secret`.
pub fn portal_clients_toml(portal: &str, secret: &str) -> String {
    format!(
        r#"[[client]]
id = "portail-citoyen"
name = "Espace Citoyens"
secret = "{digest}"
auth_method = "client_secret_basic"
redirect_uris = ["{portal}/callback"]
post_logout_redirect_uris = ["{portal}/"]
scopes = ["openid", "email", "profile", "address", "phone", "roles", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
consent = "required"
privacy_policy_url = "{portal}/confidentialite"
backchannel_logout_uri = "{portal}/backchannel-logout"
"#,
        digest = sesame::secrets::sha256_prefixed(secret),
    )
}
