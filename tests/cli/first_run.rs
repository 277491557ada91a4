//! What an operator meets the first time: every command names the instance
//! it acts on, `SESAME_CONFIG` names one too, a command refuses to create a
//! stray database, `clients check FILE` checks a candidate, an emptied
//! clients file is refused on SIGHUP, and `user add` keeps the password
//! policy.

use std::path::Path;
use std::process::Command;

use crate::common::instance::{PASSWORD, free_port};
use crate::{Serving, in_folder, sesame, sesame_with, text};

/// `sesame init` in a fresh folder; returns the path of its sesame.toml.
fn init(dir: &Path, issuer: &str) -> String {
    let d = dir.to_str().unwrap();
    let out = sesame(&["init", d, "--issuer", issuer], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("instance: config {d}/sesame.toml")),
        "init names the instance it wrote: {}",
        text(&out.stderr)
    );
    format!("{d}/sesame.toml")
}

fn add_args<'a>(email: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["user", "add", "--email", email, "--password-stdin"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn every_command_names_its_instance_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path(), "http://127.0.0.1:9");
    let d = dir.path().display();
    let named = format!("instance: config {config}; data {d}/data; keys {d}/keys");
    for args in [
        vec!["clients", "check", "--config", &config],
        vec!["keys", "rotate", "--config", &config],
        add_args("a@example.test", &["--config", &config]),
    ] {
        let out = sesame(&args, Some(&format!("{PASSWORD}\n")));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&named),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let defaults = sesame(&["clients", "check"], None);
    assert!(
        text(&defaults.stderr).contains("instance: built-in defaults"),
        "{}",
        text(&defaults.stderr)
    );
}

#[test]
fn sesame_config_names_the_instance_and_config_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path(), "http://127.0.0.1:9");
    let elsewhere = tempfile::tempdir().unwrap();
    let stdin = format!("{PASSWORD}\n");

    let mut from_env = in_folder(elsewhere.path());
    from_env.env("SESAME_CONFIG", &config);
    let added = sesame_with(
        &mut from_env,
        &add_args("env@example.test", &[]),
        Some(&stdin),
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stderr).contains(&format!("config {config}")));
    assert!(
        !elsewhere.path().join("data").exists(),
        "nothing written here"
    );

    // The citizen went to the instance SESAME_CONFIG named.
    let again = sesame(
        &add_args("env@example.test", &["--config", &config]),
        Some(&stdin),
    );
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let mut both = in_folder(elsewhere.path());
    both.env("SESAME_CONFIG", elsewhere.path().join("missing.toml"));
    let wins = sesame_with(
        &mut both,
        &add_args("flag@example.test", &["--config", &config]),
        Some(&stdin),
    );
    assert!(
        wins.status.success(),
        "--config wins: {}",
        text(&wins.stderr)
    );
}

#[test]
fn a_command_outside_any_instance_asks_for_config_and_creates_nothing() {
    let empty = tempfile::tempdir().unwrap();
    for args in [add_args("stray@example.test", &[]), vec!["keys", "rotate"]] {
        let out = sesame_with(
            &mut in_folder(empty.path()),
            &args,
            Some(&format!("{PASSWORD}\n")),
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("no instance here") && err.contains("--config"),
            "{args:?}: {err}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(empty.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing created: {left:?}");
}

/// README: `cargo run --release` in the repository, then `user add` with no
/// `--config` in the same folder acts on that served instance.
#[test]
fn user_add_after_serve_on_the_defaults_acts_on_the_served_instance() {
    let repo = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let serving = Serving::start(&mut in_folder(repo.path()), &["--listen", &listen]);
    serving.wait_for("instance: built-in defaults");

    let stdin = format!("{PASSWORD}\n");
    let args = add_args("nathalie@example.test", &["--verified"]);
    let added = sesame_with(&mut in_folder(repo.path()), &args, Some(&stdin));
    assert!(added.status.success(), "{}", text(&added.stderr));
    let err = text(&added.stderr);
    let data = repo.path().join("data");
    assert!(
        err.contains("built-in defaults") && err.contains(&format!("data {}", data.display())),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&data)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name() == "sesame.db")
            .count(),
        1,
        "one database, the served one"
    );
    drop(serving);
}

#[test]
fn clients_check_validates_a_candidate_file_before_it_is_deployed() {
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path(), "http://127.0.0.1:9");
    let candidate = dir.path().join("candidate.toml");
    let candidate_arg = candidate.to_str().unwrap();

    std::fs::write(
        &candidate,
        "[[client]]\nid = \"bibliotheque\"\nauth_method = \"none\"\nredirect_uris = [\"/relative\"]\n",
    )
    .unwrap();
    let bad = sesame(
        &["clients", "check", candidate_arg, "--config", &config],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(
        err.contains("candidate.toml") && err.contains("client \"bibliotheque\".redirect_uris"),
        "{err}"
    );

    std::fs::write(
        &candidate,
        "[[client]]\nid = \"bibliotheque\"\nauth_method = \"none\"\nredirect_uris = [\"https://bib.example/cb\"]\n",
    )
    .unwrap();
    let good = sesame(
        &["clients", "check", candidate_arg, "--config", &config],
        None,
    );
    assert!(good.status.success(), "{}", text(&good.stderr));
    let out = text(&good.stdout);
    assert!(
        out.contains("candidate.toml: 1 client(s) OK") && out.contains("bibliotheque"),
        "{out}"
    );

    std::fs::write(&candidate, "# emptied by mistake\n").unwrap();
    let empty = sesame(
        &["clients", "check", candidate_arg, "--config", &config],
        None,
    );
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        text(&empty.stderr).contains("no client"),
        "{}",
        text(&empty.stderr)
    );

    // The instance's own file, as before.
    let own = sesame(&["clients", "check", "--config", &config], None);
    assert!(
        text(&own.stdout).contains("portail-citoyen"),
        "{}",
        text(&own.stdout)
    );
}

/// A reload that would leave no client at all keeps the running ones and
/// says why in the log.
#[tokio::test]
async fn an_emptied_clients_file_is_refused_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = init(dir.path(), &issuer);
    let serving = Serving::start(
        &mut Command::new(env!("CARGO_BIN_EXE_sesame")),
        &["--config", &config],
    );
    std::fs::write(dir.path().join("clients.toml"), "").unwrap();
    serving.signal("HUP");
    let line = serving.wait_for("reload failed");
    assert!(line.contains("no client"), "{line}");

    let authorize = format!(
        "{issuer}/authorize?client_id=portail-citoyen&redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fcallback&response_type=code&scope=openid&state=s"
    );
    let answer = crate::common::web::browser()
        .get(&authorize)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        303,
        "the client is still known: {}",
        serving.log()
    );
    assert!(crate::common::web::location(&answer).starts_with("/login"));
}

#[test]
fn user_add_keeps_the_password_policy_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path(), "http://127.0.0.1:9");
    let weak = sesame(
        &add_args("weak@example.test", &["--config", &config]),
        Some("password\n"),
    );
    assert_eq!(weak.status.code(), Some(1));
    let err = text(&weak.stderr);
    assert!(
        err.contains("one uppercase letter")
            && err.contains("one digit")
            && err.contains("--allow-weak-password"),
        "every broken rule is named: {err}"
    );
    let personal = sesame(
        &add_args(
            "nathalie@example.test",
            &["--config", &config, "--given-name", "Nathalie"],
        ),
        Some("Nathalie-2024-Champigny\n"),
    );
    assert_eq!(
        personal.status.code(),
        Some(1),
        "{}",
        text(&personal.stdout)
    );
    assert!(text(&personal.stderr).contains("your last name, your first name"));

    // Nothing was created: the same address is still free.
    let strong = sesame(
        &add_args("weak@example.test", &["--config", &config]),
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(strong.status.success(), "{}", text(&strong.stderr));
    let allowed = sesame(
        &add_args(
            "demo@example.test",
            &["--config", &config, "--allow-weak-password"],
        ),
        Some("x\n"),
    );
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
}

#[test]
fn a_wrong_type_in_sesame_toml_names_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sesame.toml");
    std::fs::write(&config, "issuer = \"http://127.0.0.1:9\"\nlisten = 8080\n").unwrap();
    let out = sesame(
        &["clients", "check", "--config", config.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("sesame.toml: listen (line 2): invalid type"),
        "{err}"
    );
}

/// The estimator alone warns: DESIGN §4's callers (the interface contract
/// among them) add citizens with passwords every rule accepts.
#[test]
fn a_password_only_the_estimator_finds_weak_is_added_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let config = init(dir.path(), "http://127.0.0.1:9");
    let out = sesame(
        &add_args("nathalie@example.test", &["--config", &config]),
        Some("Passw0rdSecure\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: This password is too easy to guess"),
        "{err}"
    );
}

/// The data folder and the database are the service account's alone, and
/// a key folder that others can read is reported at start.
#[test]
fn data_is_private_and_readable_keys_are_reported() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let config = init(dir.path(), &issuer);
    let keys = dir.path().join("keys");
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(&keys, open).unwrap();
    let serving = Serving::start(
        &mut Command::new(env!("CARGO_BIN_EXE_sesame")),
        &["--config", &config],
    );
    let line = serving.wait_for("readable by other users");
    assert!(line.contains("keys"), "{line}");
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700, "data folder");
    assert_eq!(mode(&data.join("sesame.db")), 0o600, "database");
}
