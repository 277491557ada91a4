//! The operator's commands of DESIGN §4b run as the real binary: `user
//! import` with hashes made by other implementations (glibc's bcrypt
//! through Perl, Python's PBKDF2), signed in over HTTP and upgraded to
//! argon2id; `audit`; `backup` while the server serves sign-ins, and a
//! second instance started from the copy.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::common::instance::free_port;
use crate::common::web::{browser, hidden, text_of};
use crate::{Serving, sesame, text};

const OLD_PASSWORD: &str = "Ancien-Mot-2019";

/// `sesame init` with an issuer on a free port; (sesame.toml, issuer).
fn instance(dir: &Path) -> (String, String) {
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let d = dir.to_str().unwrap();
    let out = sesame(&["init", d, "--issuer", &issuer], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (format!("{d}/sesame.toml"), issuer)
}

/// A bcrypt hash of `password` by the C library's crypt(3) (libxcrypt),
/// through Perl: not the `bcrypt` crate Sésame checks it with.
fn bcrypt_by_libc(password: &str) -> String {
    let out = Command::new("perl")
        .args([
            "-e",
            "print crypt($ARGV[0], '$2b$05$abcdefghijklmnopqrstuu')",
            password,
        ])
        .output()
        .unwrap();
    let hash = text(&out.stdout);
    assert!(hash.starts_with("$2b$05$") && hash.len() == 60, "{hash}");
    hash
}

/// A PBKDF2-SHA256 hash of `password` by Python's hashlib, in the PHC form
/// (`passlib` = false) or passlib's (`passlib` = true).
fn pbkdf2_by_python(password: &str, passlib: bool) -> String {
    let script = r#"
import base64, hashlib, os, sys
salt = os.urandom(16)
dk = hashlib.pbkdf2_hmac('sha256', sys.argv[1].encode(), salt, 29000)
b64 = lambda b: base64.b64encode(b).decode().rstrip('=')
if sys.argv[2] == 'passlib':
    ab64 = lambda b: b64(b).replace('+', '.')
    print('$pbkdf2-sha256$29000$' + ab64(salt) + '$' + ab64(dk), end='')
else:
    print('$pbkdf2-sha256$i=29000,l=32$' + b64(salt) + '$' + b64(dk), end='')
"#;
    let form = if passlib { "passlib" } else { "phc" };
    let out = Command::new("python3")
        .args(["-c", script, password, form])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn line(email: &str, hash: &str) -> String {
    serde_json::json!({
        "email": email,
        "email_verified": true,
        "password_hash": hash,
        "given_name": "Nathalie",
        "family_name": "Martin",
        "address": {"street_address": "1 place de la Mairie", "postal_code": "94500", "locality": "Champigny-sur-Marne", "country": "FR"},
        "roles": ["citizen"],
    })
    .to_string()
}

/// Signs in on the bare login page over HTTP: the status (303 = signed in).
async fn sign_in(issuer: &str, email: &str, password: &str) -> u16 {
    let b = browser();
    let html = text_of(&b, format!("{issuer}/login")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
        ("password", password.to_owned()),
    ];
    let answer = b
        .post(format!("{issuer}/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    answer.status().as_u16()
}

fn serve(config: &str) -> Serving {
    Serving::start(
        &mut Command::new(env!("CARGO_BIN_EXE_sesame")),
        &["--config", config],
    )
}

/// `sesame user show` of `email`: its `password:` line.
fn password_line(config: &str, email: &str) -> String {
    let out = sesame(
        &["user", "show", "--config", config, "--email", email],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("$2b$") && !stdout.contains("$pbkdf2"),
        "no hash shown: {stdout}"
    );
    stdout
        .lines()
        .find(|l| l.starts_with("password: "))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn imported_citizens_sign_in_with_their_old_password_and_get_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let (config, issuer) = instance(dir.path());
    let citizens = [
        ("bcrypt@example.test", bcrypt_by_libc(OLD_PASSWORD)),
        ("pbkdf2@example.test", pbkdf2_by_python(OLD_PASSWORD, false)),
        ("passlib@example.test", pbkdf2_by_python(OLD_PASSWORD, true)),
    ];
    let good: Vec<String> = citizens.iter().map(|(e, h)| line(e, h)).collect();
    let file = dir.path().join("citoyens.jsonl");

    // A bad line: named with its number, and nothing imported.
    let bad = format!(
        "{}\n{{\"email\":\"x@example.test\",\"password_hash\":\"secret\"}}\n{}\n",
        good[0], good[1]
    );
    std::fs::write(&file, bad).unwrap();
    let f = file.to_str().unwrap();
    let out = sesame(&["user", "import", "--config", &config, f], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("line 2: password_hash") && err.contains("nothing imported"),
        "{err}"
    );
    let list = sesame(&["user", "list", "--config", &config], None);
    assert!(
        text(&list.stdout).contains("0 citizen(s)"),
        "{}",
        text(&list.stdout)
    );

    std::fs::write(&file, good.join("\n")).unwrap();
    let dry = sesame(
        &["user", "import", "--config", &config, "--dry-run", f],
        None,
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains("3 citizen(s) would be created"),
        "{}",
        text(&dry.stdout)
    );
    let list = sesame(&["user", "list", "--config", &config], None);
    assert!(
        text(&list.stdout).contains("0 citizen(s)"),
        "a dry run writes nothing"
    );

    let first = sesame(&["user", "import", "--config", &config, f], None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("imported 3 citizen(s)"),
        "{}",
        text(&first.stdout)
    );
    let second = sesame(&["user", "import", "--config", &config, f], None);
    let stdout = text(&second.stdout);
    assert!(
        stdout.contains("imported 0 citizen(s)")
            && stdout.contains("line 2: pbkdf2@example.test exists already"),
        "{stdout}"
    );
    let list = sesame(&["user", "list", "--config", &config], None);
    assert!(
        text(&list.stdout).contains("3 citizen(s)"),
        "not duplicated"
    );
    assert!(password_line(&config, "bcrypt@example.test").contains("bcrypt (imported"));

    let serving = serve(&config);
    for (email, _) in &citizens {
        assert_eq!(
            sign_in(&issuer, email, "Wrong-Password-1").await,
            200,
            "{email}"
        );
        assert_eq!(
            sign_in(&issuer, email, OLD_PASSWORD).await,
            303,
            "{email}: {}",
            serving.log()
        );
        assert_eq!(password_line(&config, email), "password: argon2");
        // The new argon2id hash takes the same password.
        assert_eq!(sign_in(&issuer, email, OLD_PASSWORD).await, 303, "{email}");
    }

    let audit = sesame(
        &[
            "audit",
            "--config",
            &config,
            "--email",
            "bcrypt@example.test",
            "--since",
            "1h",
        ],
        None,
    );
    let table = text(&audit.stdout);
    assert_eq!(table.matches("sign_in.succeeded").count(), 2, "{table}");
    assert_eq!(table.matches("sign_in.failed").count(), 1, "{table}");
    assert!(table.contains("127.0.0.1"), "{table}");
    let json = sesame(&["audit", "--config", &config, "--json"], None);
    let events: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| {
        e["kind"] == "admin"
            && e["detail"]
                .as_str()
                .unwrap()
                .starts_with("user import: 3 created")
    }));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "sign_in.succeeded" && e["email"] == "passlib@example.test")
    );
    let all = text(&json.stdout);
    assert!(
        !all.contains(OLD_PASSWORD) && !all.contains("$2b$"),
        "no secret in the trail"
    );
}

#[test]
fn ten_thousand_lines_import_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = instance(dir.path());
    let hash = pbkdf2_by_python(OLD_PASSWORD, false);
    let lines: Vec<String> = (0..10_000)
        .map(|i| line(&format!("c{i}@example.test"), &hash))
        .collect();
    let file = dir.path().join("ville.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let started = Instant::now();
    let out = sesame(
        &[
            "user",
            "import",
            "--config",
            &config,
            file.to_str().unwrap(),
        ],
        None,
    );
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("imported 10000 citizen(s)"));
    eprintln!("10,000 lines imported in {took:?}");
    assert!(took.as_secs() < 10, "{took:?}");
}

#[tokio::test]
async fn a_backup_taken_while_serving_sign_ins_starts_a_second_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (config, issuer) = instance(dir.path());
    let hash = pbkdf2_by_python(OLD_PASSWORD, false);
    let emails: Vec<String> = (0..12).map(|i| format!("c{i}@example.test")).collect();
    let lines: Vec<String> = emails.iter().map(|e| line(e, &hash)).collect();
    let file = dir.path().join("c.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    assert!(
        sesame(
            &[
                "user",
                "import",
                "--config",
                &config,
                file.to_str().unwrap()
            ],
            None
        )
        .status
        .success()
    );
    let serving = serve(&config);

    // Sign-ins (each writes a session, an audit record and a new hash)
    // go on while the backup runs.
    let load = {
        let (issuer, emails) = (issuer.clone(), emails.clone());
        tokio::spawn(async move {
            let mut signed = 0;
            for round in 0..3 {
                for email in &emails {
                    assert_eq!(
                        sign_in(&issuer, email, OLD_PASSWORD).await,
                        303,
                        "{email} round {round}"
                    );
                    signed += 1;
                }
            }
            signed
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let copy = dir.path().join("sauvegarde.db");
    let backup = sesame(
        &["backup", "--config", &config, copy.to_str().unwrap()],
        None,
    );
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    assert!(!load.is_finished(), "the backup ran during the sign-ins");
    assert_eq!(load.await.unwrap(), 36);
    let again = sesame(
        &["backup", "--config", &config, copy.to_str().unwrap()],
        None,
    );
    assert_eq!(again.status.code(), Some(1), "never overwrites");
    drop(serving);

    // Restore as docs/operations.md says: a new instance, the keys and the
    // copy put in place of its database.
    let other = tempfile::tempdir().unwrap();
    let (config_b, issuer_b) = instance(other.path());
    let keys_b = other.path().join("keys");
    std::fs::remove_dir_all(&keys_b).unwrap();
    std::fs::create_dir_all(&keys_b).unwrap();
    for key in std::fs::read_dir(dir.path().join("keys")).unwrap() {
        let key = key.unwrap();
        std::fs::copy(key.path(), keys_b.join(key.file_name())).unwrap();
    }
    let db_b = other.path().join("data/sesame.db");
    for stale in ["sesame.db", "sesame.db-wal", "sesame.db-shm"] {
        let _ = std::fs::remove_file(other.path().join("data").join(stale));
    }
    std::fs::copy(&copy, &db_b).unwrap();
    let serving_b = serve(&config_b);
    for email in &emails {
        assert_eq!(
            sign_in(&issuer_b, email, OLD_PASSWORD).await,
            303,
            "{email}: {}",
            serving_b.log()
        );
    }
}
