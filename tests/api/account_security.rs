//! « Mon compte », security: the password change (current password, every
//! rule named, other sessions and tokens end, this one stays, a notice
//! mail), the signed-in browsers (end one, end the others, never another
//! citizen's), and « Retirer l'accès » (tokens dead, back-channel logout,
//! the consent page again).

use crate::account::{page, submit};
use crate::backchannel::{declare_backchannel, relying_parties, verified, wait_for};
use crate::helpers::*;
use crate::rp::*;
use crate::signup::with_smtp;

const NEW: &str = "Nouveau-Secret-2026";

#[tokio::test]
async fn a_password_change_keeps_this_session_and_ends_the_others() {
    let (server, sink) = with_smtp("").await;
    let email = "motdepasse@example.test";
    let (_, _, signed) = offline(&server, email).await;
    let here = browser();
    assert_eq!(submit_login(&server, &here, "/login", email).await, "/");
    let html = page(&server, &here, "/account/security", 200).await;
    assert!(
        html.contains("Au moins 8 caractères"),
        "the policy is stated"
    );

    let wrong = change(&server, &here, "Pas-Le-Bon-1", NEW, NEW).await;
    assert_eq!(wrong.status(), 422);
    assert!(
        unescape(&wrong.text().await.unwrap()).contains("Le mot de passe actuel est incorrect.")
    );
    let weak = change(&server, &here, PASSWORD, "court", "autre").await;
    assert_eq!(weak.status(), 422);
    let weak = unescape(&weak.text().await.unwrap());
    assert!(weak.contains("au moins 8 caractères"), "{weak}");
    assert!(weak.contains("au moins une lettre majuscule"));
    assert!(weak.contains("au moins un chiffre"));
    assert!(weak.contains("Les mots de passe sont différents."));
    let refresh = signed.refresh.as_ref().unwrap().secret().clone();
    assert!(
        active(&server, "rp-basic", signed.access.secret()).await,
        "nothing ended yet"
    );

    let done = change(&server, &here, PASSWORD, NEW, NEW).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/account/security?done=password");
    page(&server, &here, "/account/security?done=password", 200).await;
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
    assert!(!active(&server, "rp-basic", signed.access.secret()).await);
    let security = page(&server, &here, "/account/security", 200).await;
    assert!(security.contains("Mot de passe modifié"), "{security}");
    assert!(security.contains("Connexion réussie") && security.contains("127.0.0.1"));
    let notice = sink.next_to(email, 0).await;
    assert_eq!(
        notice.subject(),
        "Espace Citoyens - Votre mot de passe a été modifié"
    );

    // The flow's browser was signed out, this one stays; the old password
    // no longer signs in.
    page(&server, &here, "/account", 200).await;
    let other = browser();
    let refused = post_bare_login(&server, &other, email, PASSWORD).await;
    assert_eq!(refused.status(), 200);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Courriel ou mot de passe incorrect.")
    );
}

pub async fn change(
    server: &TestServer,
    b: &reqwest::Client,
    current: &str,
    new: &str,
    confirm: &str,
) -> reqwest::Response {
    let form = [
        ("current_password", current),
        ("password", new),
        ("password_confirm", confirm),
    ];
    submit(
        server,
        b,
        "/account/security",
        "/account/security/password",
        &form,
    )
    .await
}

#[tokio::test]
async fn signed_in_browsers_are_listed_and_ended_but_never_another_citizens() {
    let server = TestServer::start().await;
    let email = "appareils@example.test";
    let (phone, _) = signed_in(&server, email).await;
    let laptop = browser();
    assert_eq!(submit_login(&server, &laptop, "/login", email).await, "/");
    let (stranger, _) = signed_in(&server, "autre@example.test").await;

    let html = page(&server, &laptop, "/account/sessions", 200).await;
    assert_eq!(html.matches("class=\"card\"").count(), 2, "{html}");
    assert_eq!(html.matches("Cette session").count(), 1);
    assert!(html.contains("127.0.0.1"), "the address is shown");
    let own = page(&server, &phone, "/account/sessions", 200).await;
    let laptop_sid = hidden(&own, "sid");

    // Another citizen's session id changes nothing.
    let stranger_html = page(&server, &stranger, "/account/sessions", 200).await;
    assert!(
        !stranger_html.contains("name=\"sid\""),
        "a single session has no end button"
    );
    let forged = submit(
        &server,
        &stranger,
        "/account/profile",
        "/account/sessions/end",
        &[("sid", &laptop_sid)],
    )
    .await;
    assert_eq!(forged.status(), 404);
    assert!(unescape(&forged.text().await.unwrap()).contains("n'appartient pas à votre compte"));
    page(&server, &laptop, "/account", 200).await;

    let ended = submit(
        &server,
        &phone,
        "/account/sessions",
        "/account/sessions/end",
        &[("sid", &laptop_sid)],
    )
    .await;
    assert_eq!(location(&ended), "/account/sessions?done=ended");
    assert_eq!(
        laptop
            .get(server.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    page(&server, &phone, "/account", 200).await;

    assert_eq!(submit_login(&server, &laptop, "/login", email).await, "/");
    let others = submit(
        &server,
        &laptop,
        "/account/sessions",
        "/account/sessions/end-others",
        &[],
    )
    .await;
    assert_eq!(location(&others), "/account/sessions?done=others");
    assert_eq!(
        phone
            .get(server.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    page(&server, &laptop, "/account", 200).await;
    page(&server, &stranger, "/account", 200).await;
}

#[tokio::test]
async fn withdrawing_a_service_kills_its_tokens_tells_it_and_brings_the_consent_page_back() {
    let server = TestServer::start().await;
    let (base, inbox) = relying_parties().await;
    declare_backchannel(&server, &base);
    let email = "retrait@example.test";
    let (b, _, signed) = offline(&server, email).await;
    let refresh = signed.refresh.as_ref().unwrap().secret().clone();

    let html = page(&server, &b, "/account/applications", 200).await;
    assert!(html.contains("Espace Citoyens"), "{html}");
    assert!(
        html.contains("Rester connecté au service"),
        "in the consent page's words"
    );
    assert!(html.contains("https://example.org/confidentialite"));
    assert!(html.contains("Retirer l'accès"));

    // Another citizen cannot withdraw this consent, nor one they never gave.
    let (stranger, _) = signed_in(&server, "autre@example.test").await;
    let forged = submit(
        &server,
        &stranger,
        "/account/applications",
        "/account/applications/withdraw",
        &[("client_id", "spa")],
    )
    .await;
    assert_eq!(forged.status(), 404);
    assert!(active(&server, "rp-basic", signed.access.secret()).await);

    let withdrawn = submit(
        &server,
        &b,
        "/account/applications",
        "/account/applications/withdraw",
        &[("client_id", "rp-basic")],
    )
    .await;
    assert_eq!(location(&withdrawn), "/account/applications?done=withdrawn");
    let after = page(&server, &b, "/account/applications?done=withdrawn", 200).await;
    assert!(after.contains("Vous n'avez donné votre consentement à aucun service."));

    let (status, body) = post_as(
        &server,
        "/token",
        "rp-basic",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(!active(&server, "rp-basic", signed.access.secret()).await);
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 401);
    wait_for(&inbox, |got| {
        got.iter().any(|(c, _, s)| c == "rp-basic" && *s == 200)
    })
    .await;
    let token = inbox.lock().unwrap().last().unwrap().1.clone();
    let (_, claims) = verified(&server, &token).await;
    assert_eq!(claims["sub"], signed.sub.as_str());

    // Still signed in here, the service's next request shows the consent page.
    let next = b.get(auth_url(&server, "")).send().await.unwrap();
    assert!(
        location(&next).starts_with("/consent"),
        "{}",
        location(&next)
    );
    // The withdrawn service keeps trying its old refresh token: same answer.
    let (status, _) = post_as(
        &server,
        "/token",
        "rp-basic",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400);
}
