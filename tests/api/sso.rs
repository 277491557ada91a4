//! Single sign-on: one session for every service in a browser, `prompt=none`
//! across services, and session lifetimes from `sesame.toml` (short ones
//! here, so a few seconds suffice).

use std::time::Duration;

use crate::helpers::*;
use crate::rp::*;

#[tokio::test]
async fn a_second_service_gets_its_code_without_signing_in_again() {
    let server = TestServer::start().await;
    server.add_user("sso2@example.test", true).await;
    let browser = browser();
    let basic = rp(&server, "rp-basic", Some(BASIC_SECRET)).await;
    let first = code_flow(&server, &browser, &basic, &["email"], "sso2@example.test").await;

    assert_eq!(
        silent(&server, &browser, "rp-post").await,
        "consent_required",
        "signed in already; only rp-post's own consent is missing"
    );
    let response = browser
        .get(authorize_url(&server, "rp-post", ""))
        .send()
        .await
        .unwrap();
    assert!(location(&response).starts_with("/consent"), "no login page");

    let post = rp(&server, "rp-post", Some(POST_SECRET)).await;
    let second = code_flow(&server, &browser, &post, &["email"], "sso2@example.test").await;
    assert_eq!(second.sub, first.sub);
    assert_eq!(second.sid, first.sid, "the same OP session");
    let auth_time = |s: &Signed| jwt_claims(&s.id_token.to_string())["auth_time"].clone();
    assert_eq!(
        auth_time(&second),
        auth_time(&first),
        "no new authentication"
    );

    assert_eq!(silent(&server, &browser, "rp-post").await, "code");
    assert_eq!(silent(&server, &browser, "rp-basic").await, "code");
    assert_eq!(
        silent(&server, &crate::helpers::browser(), "rp-basic").await,
        "login_required",
        "another browser has no session"
    );
}

#[tokio::test]
async fn an_idle_session_expires() {
    let server = TestServer::start_with("[sessions]\nidle_ttl_seconds = 2\n").await;
    let (browser, _) = signed_in(&server, "idle@example.test").await;
    assert_eq!(silent(&server, &browser, "rp-basic").await, "code");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "login_required"
    );
    let response = browser
        .get(authorize_url(&server, "rp-basic", ""))
        .send()
        .await
        .unwrap();
    assert!(location(&response).starts_with("/login"), "a new login");
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_even_when_used() {
    let server =
        TestServer::start_with("[sessions]\nidle_ttl_seconds = 60\nabsolute_ttl_seconds = 3\n")
            .await;
    let (browser, _) = signed_in(&server, "absolute@example.test").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(silent(&server, &browser, "rp-basic").await, "code");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "login_required"
    );
}
