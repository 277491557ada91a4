//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14, OIDC Core §12) with the
//! `openidconnect` crate: rotation, reuse detection, client binding, scope,
//! lifetimes from `sesame.toml`, and the refreshed ID token.

use openidconnect::{Nonce, OAuth2TokenResponse, RefreshToken, Scope, TokenResponse};

use crate::helpers::*;
use crate::rp::*;

fn no_nonce(_: Option<&Nonce>) -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn refresh_rotates_and_returns_an_id_token_for_the_same_sub() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "refresh@example.test").await;
    let first = signed.refresh.clone().unwrap();
    let refreshed = client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp_http())
        .await
        .expect("refresh accepted");
    let second = refreshed.refresh_token().expect("a new refresh token");
    assert_ne!(second.secret(), first.secret(), "rotated");
    assert_ne!(refreshed.access_token().secret(), signed.access.secret());
    let id_token = refreshed.id_token().expect("a new ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), no_nonce)
        .expect("refreshed ID token verified");
    assert_eq!(claims.subject().as_str(), signed.sub, "same sub");
    assert!(
        claims.nonce().is_none(),
        "no nonce on refresh (OIDC Core §12.2)"
    );
    let original = signed
        .id_token
        .claims(&client.id_token_verifier(), no_nonce)
        .unwrap();
    assert_eq!(
        claims.auth_time(),
        original.auth_time(),
        "time of the original login"
    );
    assert_eq!(
        userinfo_status(&server, refreshed.access_token().secret()).await,
        200
    );
    assert_eq!(
        userinfo_status(&server, signed.access.secret()).await,
        200,
        "rotation alone does not revoke earlier access tokens"
    );
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_kills_the_family() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "reuse@example.test").await;
    let first = signed.refresh.clone().unwrap();
    let refreshed = client
        .exchange_refresh_token(&first)
        .unwrap()
        .request_async(&rp_http())
        .await
        .unwrap();
    let newer = refreshed.refresh_token().unwrap().clone();
    let newer_access = refreshed.access_token().secret().clone();

    let replay = post_as(
        &server,
        "/token",
        "rp-basic",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first.secret()),
        ],
    )
    .await;
    assert_eq!(replay.0, 400);
    assert_eq!(replay.1["error"], "invalid_grant");

    let after = client
        .exchange_refresh_token(&newer)
        .unwrap()
        .request_async(&rp_http())
        .await;
    assert!(
        after.is_err(),
        "the newer refresh token died with its family"
    );
    assert_eq!(userinfo_status(&server, &newer_access).await, 401);
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 401);
    assert!(!active(&server, "rp-basic", newer.secret()).await);
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "bound-rt@example.test").await;
    let token = signed.refresh.clone().unwrap();
    // `spa` may use refresh tokens, just not this one.
    let (status, body) = post_as(
        &server,
        "/token",
        "spa",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // `rp-post` may not use the grant at all.
    let (status, body) = post_as(
        &server,
        "/token",
        "rp-post",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.secret()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert!(
        client
            .exchange_refresh_token(&token)
            .unwrap()
            .request_async(&rp_http())
            .await
            .is_ok(),
        "the refused attempts did not use it up"
    );
}

#[tokio::test]
async fn a_wider_scope_is_refused_and_a_narrower_one_granted() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "scope-rt@example.test").await;
    let token = signed.refresh.clone().unwrap();
    let (status, body) = post_as(
        &server,
        "/token",
        "rp-basic",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token.secret()),
            ("scope", "openid email profile"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let narrower = client
        .exchange_refresh_token(&token)
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .request_async(&rp_http())
        .await
        .expect("a narrower scope is fine");
    let scopes: Vec<String> = narrower
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid"]);
    let at = jwt_claims(narrower.access_token().secret());
    assert_eq!(at["scope"], "openid");
}

#[tokio::test]
async fn no_refresh_token_without_offline_access() {
    let server = TestServer::start().await;
    server.add_user("online@example.test", true).await;
    let client = rp(&server, "rp-basic", Some(BASIC_SECRET)).await;
    let signed = code_flow(
        &server,
        &browser(),
        &client,
        &["email"],
        "online@example.test",
    )
    .await;
    assert!(signed.refresh.is_none());
}

#[tokio::test]
async fn idle_lifetime_comes_from_sesame_toml() {
    let server = TestServer::start_with("[tokens]\nrefresh_idle_ttl_seconds = 2\n").await;
    let (_, client, signed) = offline(&server, "idle-rt@example.test").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let late = client
        .exchange_refresh_token(&signed.refresh.unwrap())
        .unwrap()
        .request_async(&rp_http())
        .await;
    assert!(late.is_err(), "unused for longer than the idle lifetime");
}

#[tokio::test]
async fn absolute_lifetime_comes_from_sesame_toml() {
    let server = TestServer::start_with("[tokens]\nrefresh_absolute_ttl_seconds = 3\n").await;
    let (_, client, signed) = offline(&server, "absolute-rt@example.test").await;
    let refresh = |token: RefreshToken| {
        let client = client.clone();
        async move {
            client
                .exchange_refresh_token(&token)
                .unwrap()
                .request_async(&rp_http())
                .await
        }
    };
    let fresh = refresh(signed.refresh.unwrap()).await.expect("still young");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let late = refresh(fresh.refresh_token().unwrap().clone()).await;
    assert!(
        late.is_err(),
        "the family is older than its absolute lifetime"
    );
}
