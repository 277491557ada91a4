//! The client credentials grant (RFC 6749 §4.4) with the `openidconnect`
//! crate: a token for the client itself, scopes limited, nothing else.

use openidconnect::core::CoreRevocableToken;
use openidconnect::{OAuth2TokenResponse, Scope, TokenIntrospectionResponse, TokenResponse};

use crate::helpers::*;
use crate::rp::*;

#[tokio::test]
async fn a_service_gets_an_access_token_for_itself() {
    let server = TestServer::start().await;
    let service = rp(&server, "service", Some(CC_SECRET)).await;
    let token = service
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("roles".into()))
        .request_async(&rp_http())
        .await
        .expect("client_credentials token");
    assert!(token.id_token().is_none(), "no ID token: no citizen");
    assert!(token.refresh_token().is_none(), "no refresh token");
    let claims = jwt_claims(token.access_token().secret());
    assert_eq!(claims["sub"], "service");
    assert_eq!(claims["client_id"], "service");
    assert_eq!(claims["scope"], "roles");
    assert_eq!(
        userinfo_status(&server, token.access_token().secret()).await,
        401,
        "no citizen behind it"
    );
    let answer = service
        .introspect(token.access_token())
        .request_async(&rp_http())
        .await
        .unwrap();
    assert!(answer.active());
    assert_eq!(answer.sub(), Some("service"));

    service
        .revoke_token(CoreRevocableToken::AccessToken(
            token.access_token().clone(),
        ))
        .unwrap()
        .request_async(&loopback)
        .await
        .expect("a service revokes its own token");
    assert!(!active(&server, "service", token.access_token().secret()).await);
}

#[tokio::test]
async fn without_scope_the_token_has_none() {
    let server = TestServer::start().await;
    let (status, body) = post_as(
        &server,
        "/token",
        "service",
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("scope").is_none(), "{body}");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
}

#[tokio::test]
async fn scopes_are_limited_to_what_the_client_may_ask() {
    let server = TestServer::start().await;
    for scope in ["openid", "email", "roles offline_access", "everything"] {
        let (status, body) = post_as(
            &server,
            "/token",
            "service",
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "{scope}"
        );
    }
}

#[tokio::test]
async fn clients_that_do_not_list_the_grant_are_unauthorized() {
    let server = TestServer::start().await;
    for client in ["rp-basic", "rp-post", "spa"] {
        let (status, body) = post_as(
            &server,
            "/token",
            client,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{client}"
        );
    }
}

/// On PostgreSQL a service's own token is one new row: it is inserted
/// without the writers' lock, so a long transaction holding that lock does
/// not hold up the services either; the token is recorded (introspection
/// answers it active once the lock is free). On SQLite every job shares the
/// one database thread.
#[tokio::test]
async fn on_postgresql_a_services_token_is_issued_while_a_writer_holds_the_lock() {
    let server = TestServer::start().await;
    if !server.on_postgresql() {
        return;
    }
    let (release_tx, holder) = hold_the_writers_lock(&server);
    let form = [("grant_type", "client_credentials"), ("scope", "roles")];
    let issued = post_as(&server, "/token", "service", &form);
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(3), issued)
        .await
        .expect("the token is issued while the lock is held");
    assert_eq!(status, 200, "{body}");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert!(
        active(&server, "service", token).await,
        "the token was recorded"
    );
}
