//! « Mes données »: the JSON export (the citizen's own only, no hash nor
//! secret) and the deletion of the account (after the password; login
//! refused, tokens dead, back-channel sent, a last mail; the address may
//! sign up again as a new account, the subject identifier never returns).

use crate::account::{page, submit};
use crate::backchannel::{declare_backchannel, relying_parties, wait_for};
use crate::helpers::*;
use crate::rp::*;
use crate::signup::with_smtp;

#[tokio::test]
async fn the_export_holds_the_citizens_data_and_no_secret() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "export@example.test").await;
    let (other, _) = signed_in(&server, "voisin@example.test").await;
    let response = b
        .get(server.url("/account/data/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = response.text().await.unwrap();
    let data: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(data["account"]["email"], "export@example.test");
    assert_eq!(data["profile"]["given_name"], "Nathalie");
    assert_eq!(data["profile"]["address"]["postal_code"], "94500");
    assert_eq!(data["consents"][0]["client_id"], "rp-basic");
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
    let kinds: Vec<&str> = data["security_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"sign_in.succeeded"), "{kinds:?}");
    for secret in ["argon2", "password", "digest", "token", "secret"] {
        assert!(
            !text.contains(secret),
            "the export names no {secret}: {text}"
        );
    }
    assert!(
        !text.contains("voisin@example.test"),
        "only the citizen's own data"
    );
    // Whose data it is comes from the session alone.
    let theirs = other
        .get(server.url("/account/data/export?sub=whatever&email=export@example.test"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(theirs.contains("voisin@example.test") && !theirs.contains("export@example.test"));
    let anonymous = browser()
        .get(server.url("/account/data/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
}

#[tokio::test]
async fn deleting_the_account_erases_it_ends_everything_and_tells_the_services() {
    let (server, sink) = with_smtp("").await;
    let (base, inbox) = relying_parties().await;
    declare_backchannel(&server, &base);
    let email = "depart@example.test";
    let (b, _, signed) = offline(&server, email).await;
    let refresh = signed.refresh.as_ref().unwrap().secret().clone();
    let html = page(&server, &b, "/account/data", 200).await;
    assert!(
        html.contains("La suppression est définitive."),
        "a clear page says what happens"
    );

    let wrong = submit(
        &server,
        &b,
        "/account/data",
        "/account/data/delete",
        &[("password", "Pas-Le-Bon-1")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(
        active(&server, "rp-basic", signed.access.secret()).await,
        "nothing changed"
    );
    page(&server, &b, "/account", 200).await;

    let done = submit(
        &server,
        &b,
        "/account/data",
        "/account/data/delete",
        &[("password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Compte supprimé"));
    assert_eq!(
        b.get(server.url("/account")).send().await.unwrap().status(),
        303
    );

    let (status, body) = post_as(
        &server,
        "/token",
        "rp-basic",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 401);
    wait_for(&inbox, |got| {
        got.iter().any(|(c, _, s)| c == "rp-basic" && *s == 200)
    })
    .await;
    let farewell = sink.next_to(email, 0).await;
    assert_eq!(
        farewell.subject(),
        "Espace Citoyens - Votre compte a été supprimé"
    );

    let other = browser();
    let refused = post_bare_login(&server, &other, email, PASSWORD).await;
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Courriel ou mot de passe incorrect.")
    );

    // The address may come back as a new account, never with the old sub.
    let again = server.add_user(email, true).await;
    assert_ne!(again, signed.sub);
    let old_sub = signed.sub.clone();
    let reused = server
        .app
        .store
        .run(move |tx| {
            let mut user = crate::common::server::citizen("autre-depart@example.test", 0);
            user.sub = old_sub;
            sesame::store::users::insert(tx, &user)
        })
        .await;
    assert!(
        reused.is_err(),
        "a retired subject identifier is never given again"
    );
}
