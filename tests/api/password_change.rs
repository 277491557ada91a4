//! What a password reset ends: every session, every access token, every
//! refresh family (`offline_access` included), with a back-channel logout
//! to the services concerned and a notice mail to the citizen.

use crate::backchannel::{declare_backchannel, relying_parties, verified, wait_for};
use crate::helpers::*;
use crate::reset::{NEW_PASSWORD, choose, forgot, reset_link};
use crate::rp::*;
use crate::signup::with_smtp;

#[tokio::test]
async fn a_reset_ends_offline_access_and_tells_the_service_and_the_citizen() {
    let (server, sink) = with_smtp("").await;
    let (base, inbox) = relying_parties().await;
    declare_backchannel(&server, &base);
    let email = "stolen@example.test";
    let (_, _, signed) = offline(&server, email).await;
    let refresh = signed.refresh.as_ref().unwrap().secret().clone();
    let access = signed.access.secret().clone();

    let b = browser();
    forgot(&server, &b, email, None).await;
    let link = reset_link(&server, &sink, 1).await;
    let done = choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);

    let (status, body) = post_as(
        &server,
        "/token",
        "rp-basic",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "the offline family is gone");
    let (status, body) = post_as(&server, "/introspect", "rp-basic", &[("token", &access)]).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"active": false}));
    assert_eq!(userinfo_status(&server, &access).await, 401);

    wait_for(&inbox, |got| {
        got.iter().any(|(c, _, s)| c == "rp-basic" && *s == 200)
    })
    .await;
    let token = inbox.lock().unwrap().last().unwrap().1.clone();
    let (_, claims) = verified(&server, &token).await;
    assert_eq!(claims["sub"], signed.sub.as_str());
    assert_eq!(claims["sid"], signed.sid.as_str());

    let notice = sink.nth(2).await;
    assert_eq!(notice.to, vec![email.to_owned()]);
    assert_eq!(
        notice.subject(),
        "Espace Citoyens - Votre mot de passe a été modifié"
    );
    let text = notice.text();
    assert!(text.contains("déconnecté de tous vos appareils"), "{text}");
    assert!(text.contains(&server.url("/password/forgot")), "{text}");
    assert!(!text.contains("Ce lien expirera"), "{text}");
}
