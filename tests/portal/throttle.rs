//! « J'ai déjà un compte » is throttled like Sésame's sign-in: guessing a
//! legacy portal password meets 429 with `Retry-After` after a few
//! failures, the right password waits too, and it works once the delay is
//! over; another identity guessing the same espace is held as well.

use crate::harness::*;
use crate::portal;

/// One attempt to link `identifiant` with `password`: status, `Retry-After`
/// and page text.
async fn link(
    servers: &Servers,
    browser: &reqwest::Client,
    identifiant: &str,
    password: &str,
) -> (u16, Option<String>, String) {
    let csrf = csrf_of(browser, &servers.portal("/rapprochement")).await;
    let response = lier(browser, servers, &csrf, identifiant, password).await;
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    (status, retry, text(&response.text().await.unwrap()))
}

#[tokio::test]
async fn guessing_a_portal_password_meets_429_and_the_right_one_waits_for_the_delay() {
    let servers = Servers::start().await;
    let (guesser, _) = signed_in_unlinked(&servers, "devin@example.test").await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let (status, _, _) = link(
            &servers,
            &guesser,
            portal::db::DEMO_IDENTIFIANT,
            &format!("essai-{i}"),
        )
        .await;
        statuses.push(status);
    }
    assert!(statuses[..6].iter().all(|&s| s == 422), "{statuses:?}");
    assert!(statuses[6..].iter().all(|&s| s == 429), "{statuses:?}");

    let (status, retry, page) = link(
        &servers,
        &guesser,
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(status, 429, "the right password waits too");
    assert!(retry.is_some());
    assert!(page.contains("Trop de tentatives ont échoué"), "{page}");

    // Another identity is held on the same espace.
    let (other, _) = signed_in_unlinked(&servers, "complice@example.test").await;
    let (status, _, _) = link(&servers, &other, portal::db::DEMO_IDENTIFIANT, "x").await;
    assert_eq!(status, 429, "the espace guessed at is held for everyone");

    // Once the delay is over, the right password links the espace.
    servers
        .state
        .db
        .run(|c| c.execute("UPDATE link_throttle SET blocked_until = 0", []))
        .await
        .unwrap();
    let csrf = csrf_of(&guesser, &servers.portal("/rapprochement")).await;
    let linked = lier(
        &guesser,
        &servers,
        &csrf,
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(location(&linked), "/rapprochement/active");
}

#[tokio::test]
async fn one_identity_guessing_many_espaces_is_held_too() {
    let servers = Servers::start().await;
    let (guesser, _) = signed_in_unlinked(&servers, "balayeur@example.test").await;
    for i in 0..6 {
        let (status, _, _) = link(&servers, &guesser, &format!("espace{i}"), "x").await;
        assert_eq!(status, 422, "attempt {i}");
    }
    let (status, _, _) = link(&servers, &guesser, "espace99", "x").await;
    assert_eq!(status, 429, "the identity guessing is held");
    // The espaces it did not touch stay open to their owners.
    let (owner, _) = signed_in_unlinked(&servers, "marie@example.test").await;
    let (status, _, _) = link(
        &servers,
        &owner,
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(status, 303);
}
