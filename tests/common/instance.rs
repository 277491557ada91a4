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
    std::fs::write(
        &config,
        format!(
            "issuer = \"{issuer}\"\nlisten = \"{listen}\"\nclients_file = \"clients.toml\"\n{extra}"
        ),
    )
    .expect("sesame.toml");
    config
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
