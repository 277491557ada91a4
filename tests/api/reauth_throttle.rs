//! Passwords typed again on the account pages (/account/reauth, the
//! password change, the account deletion) go through the sign-in throttle:
//! a stolen session cannot be used to guess the password there. Wrong
//! guesses meet 429 with `Retry-After` and no argon2 run, the right
//! password waits for the delay too, a burst sent at once gets no more
//! argon2 than a loop, and these pages and the sign-in form share one
//! count per account.

use crate::account::{age_sign_ins, page, submit};
use crate::account_security::change;
use crate::helpers::*;
use crate::throttle::{SLOW, let_blocks_end};

const REAUTH: &str = "/account/reauth?return=%2Faccount%2Femail";

/// One password typed on /account/reauth: status, `Retry-After`, page.
async fn reauth(
    server: &TestServer,
    b: &reqwest::Client,
    password: &str,
) -> (u16, Option<i64>, String) {
    let form = [("return", "/account/email"), ("password", password)];
    let response = submit(server, b, REAUTH, "/account/reauth", &form).await;
    answer(response).await
}

async fn answer(response: reqwest::Response) -> (u16, Option<i64>, String) {
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let status = response.status().as_u16();
    (status, retry, unescape(&response.text().await.unwrap()))
}

#[tokio::test]
async fn wrong_passwords_typed_again_meet_429_without_argon2_and_the_right_one_waits() {
    let server = TestServer::start_with(SLOW).await;
    let (b, _) = signed_in(&server, "volee@example.test").await;
    age_sign_ins(&server).await;
    let before = server.app.hasher.runs();
    let mut seen = Vec::new();
    for i in 0..20 {
        let (status, retry, _) = reauth(&server, &b, &format!("Devine-{i}-Encore")).await;
        seen.push((status, retry));
    }
    assert_eq!(
        server.app.hasher.runs() - before,
        6,
        "five free failures, the sixth checked, then no argon2: {seen:?}"
    );
    assert!(
        seen[..6].iter().all(|&(s, r)| s == 401 && r.is_none()),
        "{seen:?}"
    );
    assert!(
        seen[6..]
            .iter()
            .all(|&(s, r)| s == 429 && matches!(r, Some(1..=60))),
        "{seen:?}"
    );

    let (status, retry, html) = reauth(&server, &b, PASSWORD).await;
    assert_eq!(
        (status, retry.is_some()),
        (429, true),
        "the right one waits"
    );
    assert!(html.contains("Trop de mots de passe incorrects"), "{html}");
    assert!(html.contains("réessayez dans"), "{html}");
    let stale = b.get(server.url("/account/email")).send().await.unwrap();
    assert_eq!(stale.status(), 303, "the sign-in did not become fresh");

    let_blocks_end(&server).await;
    let (status, _, _) = reauth(&server, &b, PASSWORD).await;
    assert_eq!(status, 303, "accepted once the delay is over");
    page(&server, &b, "/account/email", 200).await;
    let audit = page(&server, &b, "/account/security", 200).await;
    assert!(
        audit.contains("Échec de connexion (mot de passe incorrect)")
            && audit.contains("Connexion bloquée temporairement"),
        "the citizen sees the guesses in their security events: {audit}"
    );
}

#[tokio::test]
async fn the_account_pages_and_the_sign_in_form_share_one_count() {
    let server = TestServer::start_with(SLOW).await;
    let email = "partagee@example.test";
    let (b, _) = signed_in(&server, email).await;
    age_sign_ins(&server).await;
    for i in 0..5 {
        let (status, _, _) = reauth(&server, &b, &format!("Devine-{i}-Encore")).await;
        assert_eq!(status, 401);
    }
    // The sixth failure, on the sign-in form from another browser, earns
    // the block; the seventh is refused there without argon2.
    let other = browser();
    assert_eq!(
        post_bare_login(&server, &other, email, "Autre-1-Essai")
            .await
            .status(),
        200
    );
    let before = server.app.hasher.runs();
    let login = post_bare_login(&server, &other, email, PASSWORD).await;
    assert_eq!(login.status(), 429);
    // And the account pages are blocked by the sign-in form's failures.
    let (status, retry, _) = reauth(&server, &b, PASSWORD).await;
    assert_eq!((status, retry.is_some()), (429, true));
    assert_eq!(server.app.hasher.runs(), before, "no argon2 while blocked");
}

#[tokio::test]
async fn a_blocked_account_can_neither_change_its_password_nor_be_deleted() {
    let server = TestServer::start_with(SLOW).await;
    let email = "bloquee@example.test";
    let (b, _) = signed_in(&server, email).await;
    for i in 0..6 {
        let wrong = change(&server, &b, &format!("Devine-{i}-Encore"), NEW, NEW).await;
        assert_eq!(wrong.status(), 422, "attempt {i}");
    }
    let before = server.app.hasher.runs();
    let (status, retry, html) = answer(change(&server, &b, PASSWORD, NEW, NEW).await).await;
    assert_eq!((status, retry.is_some()), (429, true), "{html}");
    assert!(html.contains("réessayez dans"), "{html}");
    let form = [("password", PASSWORD)];
    let deletion = submit(&server, &b, "/account/data", "/account/data/delete", &form).await;
    let (status, retry, _) = answer(deletion).await;
    assert_eq!((status, retry.is_some()), (429, true));
    assert_eq!(server.app.hasher.runs(), before, "no argon2 while blocked");

    // Nothing changed: once the block ends, the old password still signs in.
    let_blocks_end(&server).await;
    page(&server, &b, "/account", 200).await;
    let login = post_bare_login(&server, &browser(), email, PASSWORD).await;
    assert_eq!(login.status(), 303, "the old password is still the one");
}

const NEW: &str = "Nouveau-Secret-2026";

#[tokio::test]
async fn twenty_guesses_sent_at_once_get_no_more_argon2_than_one_after_another() {
    let server = TestServer::start_with(SLOW).await;
    let (b, _) = signed_in(&server, "rafale@example.test").await;
    age_sign_ins(&server).await;
    let html = text_of(&b, server.url(REAUTH)).await;
    let csrf = hidden(&html, "csrf");
    let before = server.app.hasher.runs();
    let mut sent = tokio::task::JoinSet::new();
    for i in 0..20 {
        let form = [
            ("csrf", csrf.clone()),
            ("return", "/account/email".to_owned()),
            ("password", format!("Devine-{i}-Encore")),
        ];
        let (b, url) = (b.clone(), server.url("/account/reauth"));
        sent.spawn(async move {
            b.post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = sent.join_all().await;
    statuses.sort_unstable();
    // Each attempt is counted before argon2, in the job that checks the
    // block: the burst earns its block as surely as a loop.
    assert_eq!(server.app.hasher.runs() - before, 6, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        6,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        14,
        "{statuses:?}"
    );
}
