//! Tests of the `sesame.toml` loader: round trip of the `init` file and the
//! file / key named by every mistake.

use std::path::{Path, PathBuf};

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn init_file_round_trips_with_paths_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "sesame.toml",
        &init_file("https://id.example.org/", "0.0.0.0:443"),
    );
    let config = Config::load(&path).unwrap();
    assert_eq!(config.issuer, "https://id.example.org");
    assert_eq!(config.data_dir, dir.path().join("data"));
    assert_eq!(config.clients_file, Some(dir.path().join("clients.toml")));
    assert!(config.https());
}

#[test]
fn unknown_key_names_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "sesame.toml",
        "issuer = \"http://a\"\n[policy]\npasword_min_length = 3\n",
    );
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("sesame.toml") && err.contains("pasword_min_length") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn bad_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("issuer = \"ftp://x\"", "issuer"),
        ("listen = \"nowhere\"", "listen"),
        ("[mail]\ntransport = \"pigeon\"", "mail.transport"),
        ("[mail]\nfrom = \"not an address\"", "mail.from"),
        (
            "[policy]\npassword_require = [\"emoji\"]",
            "policy.password_require",
        ),
        (
            "[policy]\nverification_ttl_seconds = 0",
            "policy.verification_ttl_seconds",
        ),
        (
            "[policy]\npassword_min_score = 5",
            "policy.password_min_score",
        ),
        (
            "[policy]\nunverified_account_ttl_days = 0",
            "policy.unverified_account_ttl_days",
        ),
        (
            "[policy]\nmail_max_per_ip_per_hour = -1",
            "policy.mail_max_per_ip_per_hour",
        ),
    ] {
        let path = write(dir.path(), "s.toml", text);
        let err = Config::load(&path).unwrap_err();
        assert_eq!(err.key, key, "{text}: {err}");
    }
}

#[test]
fn type_error_names_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "sesame.toml",
        "issuer = \"http://a\"\n\n[policy]\npassword_min_length = \"eight\"\n",
    );
    let err = Config::load(&path).unwrap_err();
    assert_eq!(err.key, "policy.password_min_length (line 4)", "{err}");
    let path = write(dir.path(), "s.toml", "listen = 8080\n");
    let err = Config::load(&path).unwrap_err();
    assert_eq!(err.key, "listen (line 1)", "{err}");
}

#[test]
fn the_outbox_of_an_init_file_follows_a_changed_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let text = init_file("http://127.0.0.1:8080", "127.0.0.1:8080")
        .replace("data_dir = \"data\"", "data_dir = \"/var/lib/sesame\"");
    let config = Config::load(&write(dir.path(), "sesame.toml", &text)).unwrap();
    assert_eq!(
        config.mail.outbox_dir,
        Path::new("/var/lib/sesame").join("outbox")
    );
}

#[test]
fn pending_requests_live_half_an_hour_and_outlive_the_verification_link() {
    assert_eq!(Config::defaults().tokens.interaction_ttl, 1800);
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "s.toml",
        "[policy]\nverification_ttl_seconds = 3600\n",
    );
    assert_eq!(Config::load(&path).unwrap().tokens.interaction_ttl, 4200);
}

#[test]
fn the_published_demo_secret_is_refused_off_loopback() {
    let mut config = Config::defaults();
    assert!(config.load_clients().is_ok(), "loopback: the demo works");
    config.set_issuer("https://id.ville.example").unwrap();
    let err = config.load_clients().unwrap_err();
    assert_eq!(err.key, "client \"portail-citoyen\".secret", "{err}");
    // The same secret copied into a clients file is refused too.
    let dir = tempfile::tempdir().unwrap();
    let digest = crate::secrets::sha256_prefixed(clients::DEMO_CLIENT_SECRET);
    let path = write(dir.path(), "clients.toml", &clients::demo_toml(&digest));
    assert!(config.load_clients_file(&path).is_err());
    config.set_issuer("http://localhost:8080").unwrap();
    assert!(config.load_clients_file(&path).is_ok());
}
