//! What the city's staff do to an account (`sesame user disable|enable|
//! delete` call these domain functions in their own process), seen by the
//! citizen's browser and by the relying party: a disabled account cannot
//! sign in and its tokens stop working; a deleted one is gone for good,
//! its address free and its `sub` never given again; every step is in the
//! audit trail.

use sesame::accounts::admin::{self, DeletedBy};
use sesame::accounts::audit::{Filter, Origin};

use crate::backchannel::{declare_backchannel, relying_parties, wait_for};
use crate::common::instance::PASSWORD;
use crate::helpers::*;
use crate::rp::*;

/// Signs in on the bare login page; the status and the page (or Location).
async fn sign_in(server: &TestServer, email: &str, password: &str) -> (u16, String) {
    let b = browser();
    let answer = post_bare_login(server, &b, email, password).await;
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

async fn events(server: &TestServer, sub: &str) -> Vec<String> {
    let sub = sub.to_owned();
    let mut kinds: Vec<String> = server
        .app
        .store
        .run(move |tx| {
            let filter = Filter {
                sub: Some(sub),
                ..Filter::default()
            };
            sesame::store::audit::list(tx, &filter)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.kind, e.detail.unwrap_or_default()))
        .collect();
    kinds.reverse();
    kinds
}

#[tokio::test]
async fn a_disabled_citizen_cannot_sign_in_and_their_tokens_stop_working() {
    let server = TestServer::start().await;
    let (base, inbox) = relying_parties().await;
    declare_backchannel(&server, &base);
    let email = "suspendu@example.test";
    let (_, _, signed) = offline(&server, email).await;
    let refresh = signed.refresh.as_ref().unwrap().secret().clone();
    let access = signed.access.secret().clone();
    assert_eq!(userinfo_status(&server, &access).await, 200);

    let (sub, clients) = (signed.sub.clone(), server.app.clients());
    let ended = server
        .app
        .store
        .run(move |tx| admin::disable(tx, &clients, &sub, &Origin::default(), 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.notified, ["rp-basic"]);

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
    let (_, body) = post_as(&server, "/introspect", "rp-basic", &[("token", &access)]).await;
    assert_eq!(body, serde_json::json!({"active": false}));
    assert_eq!(userinfo_status(&server, &access).await, 401);
    server.app.backchannel.wake();
    wait_for(&inbox, |got| {
        got.iter().any(|(c, _, s)| c == "rp-basic" && *s == 200)
    })
    .await;

    let (status, page) = sign_in(&server, email, PASSWORD).await;
    assert_eq!(status, 403);
    assert!(page.contains("Ce compte est désactivé"), "{page}");
    let (status, page) = sign_in(&server, email, "Wrong-Password-1").await;
    assert_eq!(status, 200, "a wrong password learns nothing of the state");
    assert!(page.contains("Courriel ou mot de passe incorrect."));

    let sub = signed.sub.clone();
    let enabled = server
        .app
        .store
        .run(move |tx| admin::enable(tx, &sub, &Origin::default(), 2))
        .await
        .unwrap();
    assert!(enabled);
    let (status, _) = sign_in(&server, email, PASSWORD).await;
    assert_eq!(status, 303, "signed in again");

    let trail = events(&server, &signed.sub).await;
    let wanted = [
        "sign_in.succeeded ",
        "consent.given email offline_access openid",
        "admin user disable",
        "sign_in.disabled ",
        "sign_in.failed ",
        "admin user enable",
        "sign_in.succeeded ",
    ];
    assert_eq!(trail, wanted);
}

#[tokio::test]
async fn a_deleted_account_is_gone_its_address_free_and_its_sub_never_given_again() {
    let server = TestServer::start().await;
    let email = "parti@example.test";
    let (_, _, signed) = offline(&server, email).await;
    let access = signed.access.secret().clone();

    let (sub, clients) = (signed.sub.clone(), server.app.clients());
    let ended = server
        .app
        .store
        .run(move |tx| {
            let origin = Origin::default();
            admin::delete_account(tx, &clients, &sub, DeletedBy::Staff, &origin, 1)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.grants, 1);
    assert_eq!(userinfo_status(&server, &access).await, 401);
    let (status, page) = sign_in(&server, email, PASSWORD).await;
    assert_eq!(status, 200);
    assert!(page.contains("Courriel ou mot de passe incorrect."));

    let again = server.add_user(email, true).await;
    assert_ne!(again, signed.sub, "the address is free, under a new sub");
    let (status, _) = sign_in(&server, email, PASSWORD).await;
    assert_eq!(status, 303);
    let trail = events(&server, &signed.sub).await;
    assert_eq!(trail.last().unwrap(), "account.deleted user delete");
}
