//! A whole journey against a real `sesame serve` process writing JSON
//! logs at its most verbose level (`trace`): sign-up, verification, login,
//! token, refresh, userinfo, password reset, with a refused login, a
//! rejected authorization request and a replayed code on the way, then the
//! second factor (enrolment, a sign-in with a code, wrong codes, a recovery
//! code, turning it off). Its whole log is then searched for every secret
//! the journey handled: none may appear. The refusals are logged with the
//! client and the address.

mod second_factor;

use std::time::Duration;

use crate::common::web::{browser, hidden, location, rp_http, text_of};
use crate::mailbox::SmtpSink;
use crate::process::{CALLBACK, Instance, SECRET};

const EMAIL: &str = "journee@example.test";
const FIRST_PASSWORD: &str = "Premier-Secret-4821";
const NEW_PASSWORD: &str = "Second-Secret-9302";
const WRONG_PASSWORD: &str = "Mauvais-Secret-7777";
/// Everything Sésame logs, down to `trace` (a form or a code logged at
/// any level would show), the PostgreSQL driver's statement lines asked
/// for by name as well (held at `info` whatever is asked: they print
/// every statement's parameters).
const LOG_FILTER: &str = "trace,tokio_postgres=trace,tokio_postgres::query=trace";

/// The link starting with `prefix` in the `n`-th mail (waits for it).
async fn link_in_mail(sink: &SmtpSink, n: usize, prefix: &str) -> String {
    for _ in 0..100 {
        if sink.count() > n {
            return sink.all()[n].link(prefix);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mail {n} never came");
}

/// Posts `form` plus the page's csrf (and hidden fields named in `keep`).
async fn submit(
    browser: &reqwest::Client,
    page_url: &str,
    post_url: &str,
    keep: &[&str],
    mut form: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let html = text_of(browser, page_url).await;
    form.push(("csrf", hidden(&html, "csrf")));
    for name in keep {
        form.push((name, hidden(&html, name)));
    }
    browser.post(post_url).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn a_whole_journey_leaves_no_secret_in_the_log() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The reset mail follows the verification mail to the same address
    // within a minute: no interval between the two.
    let extra = format!(
        "log_format = \"json\"\n{}[policy]\nmail_min_interval_seconds = 0\n",
        sink.config()
    );
    let sesame = Instance::start_logging(dir.path(), &extra, &[], LOG_FILTER);
    let browser = browser();
    let mut secrets: Vec<(String, String)> = vec![
        ("first password".into(), FIRST_PASSWORD.into()),
        ("new password".into(), NEW_PASSWORD.into()),
        ("wrong password".into(), WRONG_PASSWORD.into()),
        ("client secret".into(), SECRET.into()),
    ];

    // Sign-up from an authorization request, then the verification link.
    let auth = sesame.authorize_url("openid%20email%20offline_access", "&prompt=consent");
    let login = location(&browser.get(&auth).send().await.unwrap());
    let interaction = login.split("interaction=").nth(1).unwrap().to_owned();
    let signup = sesame.url(&format!("/signup?interaction={interaction}"));
    let form = vec![
        ("civilite", "female".to_owned()),
        ("family_name", "Journée".to_owned()),
        ("given_name", "Claire".to_owned()),
        ("email", EMAIL.to_owned()),
        ("password", FIRST_PASSWORD.to_owned()),
        ("password_confirm", FIRST_PASSWORD.to_owned()),
    ];
    let created = submit(
        &browser,
        &signup,
        &sesame.url("/signup"),
        &["interaction"],
        form,
    )
    .await;
    assert_eq!(created.status(), 200);
    let verify = link_in_mail(&sink, 0, &sesame.url("/verify?token=")).await;
    secrets.push(("verification link".into(), verify.clone()));
    // The link's page (a GET changes nothing), confirmed by its form.
    let activated = submit(
        &browser,
        &verify,
        &sesame.url("/verify"),
        &["token", "mode"],
        vec![],
    )
    .await;
    assert!(activated.status().as_u16() < 400, "{}", activated.status());

    // A refused login (another browser), with the client it was for.
    let other = crate::common::web::browser();
    let login = location(&other.get(&auth).send().await.unwrap());
    let wrong = vec![
        ("email", EMAIL.to_owned()),
        ("password", WRONG_PASSWORD.to_owned()),
    ];
    let refused = submit(
        &other,
        &sesame.url(&login),
        &sesame.url("/login"),
        &["interaction"],
        wrong,
    )
    .await;
    assert_eq!(refused.status(), 200);

    // Login (the verified browser carries on), code, tokens, refresh, userinfo.
    let code = sesame.code(&browser, &auth, EMAIL).await;
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, tokens) = sesame.token(&redeem).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = sesame
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    let userinfo = rp_http()
        .get(sesame.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    // Replayed last: a replay revokes what the first redemption gave.
    let (replayed, _) = sesame.token(&redeem).await;
    assert_eq!(replayed, 400, "a replayed code is refused");
    secrets.push(("code".into(), code));
    for (name, set) in [("first", &tokens), ("refreshed", &refreshed)] {
        for kind in ["access_token", "refresh_token", "id_token"] {
            let value = set[kind].as_str().unwrap().to_owned();
            // A JWT's signature is the part that must never leak.
            let secret = value.rsplit('.').next().unwrap().to_owned();
            secrets.push((format!("{name} {kind}"), secret));
        }
    }

    // An authorization request for an unknown client.
    let unknown = sesame.url(
        "/authorize?client_id=inconnu&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid",
    );
    assert_eq!(rp_http().get(&unknown).send().await.unwrap().status(), 400);

    // Password reset by mail.
    let forgot = sesame.url("/password/forgot");
    let asked = vec![("email", EMAIL.to_owned())];
    let sent = submit(&browser, &forgot, &forgot, &["interaction"], asked).await;
    assert!(sent.status().as_u16() < 400, "{}", sent.status());
    let reset = link_in_mail(&sink, 1, &sesame.url("/password/reset?token=")).await;
    secrets.push(("reset link".into(), reset.clone()));
    let new = vec![
        ("password", NEW_PASSWORD.to_owned()),
        ("password_confirm", NEW_PASSWORD.to_owned()),
    ];
    let done = submit(
        &browser,
        &reset,
        &sesame.url("/password/reset"),
        &["token"],
        new,
    )
    .await;
    assert!(done.status().as_u16() < 400, "{}", done.status());
    // Logged once the reset is answered: read by a thread, maybe later.
    sesame.serving.wait_for("password reset");

    // The second factor, with the new password.
    let shown_or_typed = second_factor::journey(&sesame, EMAIL, NEW_PASSWORD).await;

    // The whole log: JSON lines, the refusals with client and address, no secret.
    let log = sesame.serving.log();
    // The same lines without their timestamps (six digits of microseconds
    // could pass for a code).
    let mut untimed = String::new();
    for line in log.lines() {
        let mut parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            parsed["level"].is_string() && parsed["message"].is_string(),
            "{line}"
        );
        parsed.as_object_mut().unwrap().remove("timestamp");
        untimed.push_str(&parsed.to_string());
        untimed.push('\n');
    }
    let line_with = |message: &str| {
        log.lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("no {message:?} line in:\n{log}"))
            .to_owned()
    };
    let refused = line_with("login refused");
    assert!(
        refused.contains("portail-citoyen") && refused.contains("127.0.0.1"),
        "{refused}"
    );
    let rejected = line_with("authorization request rejected");
    assert!(
        rejected.contains("inconnu") && rejected.contains("127.0.0.1"),
        "{rejected}"
    );
    let replay = line_with("the code was already used");
    assert!(
        replay.contains("portail-citoyen") && replay.contains("127.0.0.1"),
        "{replay}"
    );
    for (name, secret) in &secrets {
        let token = secret.rsplit("token=").next().unwrap();
        assert!(token.len() >= 16, "{name} is a real secret: {token}");
        assert!(!log.contains(token), "the {name} is in the log:\n{log}");
    }
    for (name, secret) in &shown_or_typed {
        assert!(
            !appears(&untimed, secret),
            "the {name} ({secret}) is in the log:\n{log}"
        );
    }
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI escape when stderr is not a terminal"
    );
}

/// Whether `secret` is in `log`; a code of digits only counts as a whole
/// number (not inside a longer one, such as a port or a duration).
fn appears(log: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return log.contains(secret);
    }
    log.match_indices(secret).any(|(at, _)| {
        let before = log[..at].bytes().next_back();
        let after = log[at + secret.len()..].bytes().next();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}
