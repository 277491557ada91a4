//! `sesame user reset-2fa --email E`: the help desk removes a citizen's
//! second factor (key and recovery codes) after checking their identity;
//! `user show` tells whether one is on; the audit trail names the command
//! and the operator; the citizen gets a notice mail, like for every change
//! of the factor, sent by the running server.

use crate::citizen::{CONFIRM, TOTP, enrolment_key, post, signed_in};
use crate::common::instance::PASSWORD;
use crate::common::totp::{code, mid_step};
use crate::mailbox::SmtpSink;
use crate::process::Instance;

use super::{sesame, text};

#[test]
fn reset_2fa_removes_the_second_factor_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(sesame(&["init", d], None).status.success());
    let config = format!("{d}/sesame.toml");
    let email = "perdu@example.test";
    let add = sesame(
        &[
            "user",
            "add",
            "--config",
            &config,
            "--email",
            email,
            "--password-stdin",
            "--verified",
        ],
        Some("Un-Mot-De-Passe-Solide-2026\n"),
    );
    assert!(add.status.success(), "{}", text(&add.stderr));

    // An enrolled second factor, as the account pages leave it.
    let db = sesame::store::open_for_cli(&sesame::store::Database::Sqlite(dir.path().join("data")))
        .unwrap();
    let enrol = format!(
        "INSERT INTO totp (sub, secret, created_at, confirmed_at, last_step) \
         SELECT sub, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 1, 2, 3 FROM users WHERE email = '{email}'; "
    );
    db.tx().execute_sql(&enrol).unwrap();
    let codes = format!(
        "INSERT INTO recovery_codes (sub, digest) SELECT sub, 'd1' FROM users WHERE email = '{email}'"
    );
    db.tx().execute_sql(&codes).unwrap();
    drop(db);

    let show = sesame(
        &["user", "show", "--config", &config, "--email", email],
        None,
    );
    assert!(
        text(&show.stdout).contains("second_factor: on since"),
        "{}",
        text(&show.stdout)
    );

    let reset = sesame(
        &["user", "reset-2fa", "--config", &config, "--email", email],
        None,
    );
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert!(text(&reset.stdout).contains("second factor removed for perdu@example.test"));
    let show = sesame(
        &["user", "show", "--config", &config, "--email", email],
        None,
    );
    assert!(
        text(&show.stdout).contains("second_factor: off"),
        "{}",
        text(&show.stdout)
    );
    let db = sesame::store::open_for_cli(&sesame::store::Database::Sqlite(dir.path().join("data")))
        .unwrap();
    let left = db
        .tx()
        .query_i64("SELECT COUNT(*) FROM recovery_codes")
        .unwrap();
    assert_eq!(left, 0, "the recovery codes went with it");
    drop(db);

    let again = sesame(
        &["user", "reset-2fa", "--config", &config, "--email", email],
        None,
    );
    assert!(again.status.success());
    assert!(text(&again.stdout).contains("has no second factor"));
    let unknown = sesame(
        &[
            "user",
            "reset-2fa",
            "--config",
            &config,
            "--email",
            "x@example.test",
        ],
        None,
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no account with x@example.test"));

    let audit = sesame(&["audit", "--config", &config, "--email", email], None);
    let trail = text(&audit.stdout);
    assert!(
        trail.contains("second_factor.disabled") && trail.contains("user reset-2fa"),
        "{trail}"
    );
}

#[tokio::test]
async fn reset_2fa_mails_the_citizen_a_notice() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let email = "assistance@example.test";
    let served = Instance::start(dir.path(), &sink.config(), &[email]);
    let b = signed_in(&served, email, PASSWORD).await;
    let key = enrolment_key(&served, &b).await;
    let right = code(&key, mid_step().await);
    let on = post(&served, &b, TOTP, CONFIRM, &[("code", &right)]).await;
    assert_eq!(on.status(), 200);
    let enrolled = sink.next_to(email, 0).await;
    assert_eq!(
        enrolled.subject(),
        "Espace Citoyens - Validation en deux étapes activée"
    );

    let config = served.config.to_str().unwrap().to_owned();
    let reset = tokio::task::spawn_blocking(move || {
        sesame(
            &["user", "reset-2fa", "--config", &config, "--email", email],
            None,
        )
    })
    .await
    .unwrap();
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert!(
        text(&reset.stdout).contains("a notice to assistance@example.test is queued"),
        "{}",
        text(&reset.stdout)
    );

    // Queued by the command, sent by the server's worker within seconds.
    let notice = sink.next_to(email, 1).await;
    assert_eq!(
        notice.subject(),
        "Espace Citoyens - Validation en deux étapes retirée par l'assistance"
    );
    let body = notice.text();
    assert!(body.contains("service d'assistance"), "{body}");
    assert!(
        body.contains(&served.url("/password/forgot")),
        "the way out if it was not the citizen's request: {body}"
    );
    assert!(body.contains(&served.url("/account")), "{body}");
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(!body.contains(&compact), "never the key");

    // The next sign-in needs the password only.
    let again = signed_in(&served, email, PASSWORD).await;
    let account = again.get(served.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200, "no code step after the reset");
}
