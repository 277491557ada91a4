//! Token revocation (RFC 7009) with the `openidconnect` crate: access and
//! refresh tokens, only one's own, unknown tokens are fine, and what a
//! revoked token looks like afterwards at userinfo and introspection.

use openidconnect::core::CoreRevocableToken;

use crate::helpers::*;
use crate::rp::*;

#[tokio::test]
async fn revoking_an_access_token_with_the_openidconnect_crate() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "revoke-at@example.test").await;
    let at = signed.access.secret().clone();
    assert_eq!(userinfo_status(&server, &at).await, 200);
    client
        .revoke_token(CoreRevocableToken::AccessToken(signed.access.clone()))
        .unwrap()
        .request_async(&loopback)
        .await
        .expect("revocation accepted");
    assert_eq!(userinfo_status(&server, &at).await, 401);
    let (_, body) = post_as(&server, "/introspect", "rp-basic", &[("token", &at)]).await;
    assert_eq!(body, serde_json::json!({"active": false}));
    assert!(
        active(&server, "rp-basic", signed.refresh.unwrap().secret()).await,
        "an access token's revocation leaves its refresh token"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "revoke-rt@example.test").await;
    let refresh = signed.refresh.clone().unwrap();
    client
        .revoke_token(CoreRevocableToken::RefreshToken(refresh.clone()))
        .unwrap()
        .request_async(&loopback)
        .await
        .expect("revocation accepted");
    assert!(
        client
            .exchange_refresh_token(&refresh)
            .unwrap()
            .request_async(&rp_http())
            .await
            .is_err()
    );
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 401);
    assert!(!active(&server, "rp-basic", signed.access.secret()).await);
    assert!(!active(&server, "rp-basic", refresh.secret()).await);
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let server = TestServer::start().await;
    let (_, _, signed) = offline(&server, "not-yours@example.test").await;
    let refresh = signed.refresh.clone().unwrap();
    for (thief, token) in [
        ("rp-post", signed.access.secret()),
        ("spa", signed.access.secret()),
        ("rp-post", refresh.secret()),
        ("service", refresh.secret()),
    ] {
        let (status, body) = post_as(&server, "/revoke", thief, &[("token", token)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{thief}"
        );
    }
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 200);
    assert!(active(&server, "rp-basic", refresh.secret()).await);
}

#[tokio::test]
async fn unknown_tokens_are_fine_and_clients_must_authenticate() {
    let server = TestServer::start().await;
    for token in ["nope", "a.b.c", &"x".repeat(43), &"y".repeat(5000)] {
        for hint in ["", "access_token", "refresh_token", "something_else"] {
            let (status, _) = post_as(
                &server,
                "/revoke",
                "rp-basic",
                &[("token", token), ("token_type_hint", hint)],
            )
            .await;
            assert_eq!(status, 200, "{hint}");
        }
    }
    let (status, body) = post_as(&server, "/revoke", "rp-basic", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let response = rp_http()
        .post(server.url("/revoke"))
        .basic_auth("rp-basic", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, _) = post_as(&server, "/revoke", "", &[("token", "x")]).await;
    assert_eq!(status, 401);
    let json = rp_http()
        .post(server.url("/revoke"))
        .basic_auth("rp-basic", Some(BASIC_SECRET))
        .json(&serde_json::json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
}
