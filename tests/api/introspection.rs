//! Token introspection (RFC 7662) with the `openidconnect` crate: the
//! members of an active answer, exactly `{"active": false}` otherwise, and
//! client authentication.

use openidconnect::TokenIntrospectionResponse;

use crate::helpers::*;
use crate::rp::*;

#[tokio::test]
async fn an_active_access_token_with_the_openidconnect_crate() {
    let server = TestServer::start().await;
    let (_, client, signed) = offline(&server, "introspect@example.test").await;
    let answer = client
        .introspect(&signed.access)
        .request_async(&rp_http())
        .await
        .expect("introspection answer");
    assert!(answer.active());
    assert_eq!(answer.sub(), Some(signed.sub.as_str()));
    assert_eq!(answer.client_id().map(|c| c.as_str()), Some("rp-basic"));
    let scopes: Vec<String> = answer
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["openid", "email", "offline_access"]);
    assert_eq!(answer.iss(), Some(server.base.as_str()));
    assert_eq!(answer.aud(), Some(&vec![server.base.clone()]));
    let claims = jwt_claims(signed.access.secret());
    assert_eq!(
        answer.exp().unwrap().timestamp(),
        claims["exp"].as_i64().unwrap()
    );
    assert_eq!(
        answer.iat().unwrap().timestamp(),
        claims["iat"].as_i64().unwrap()
    );
    let (_, raw) = post_as(
        &server,
        "/introspect",
        "rp-basic",
        &[("token", signed.access.secret())],
    )
    .await;
    assert_eq!(raw["token_type"], "Bearer");
}

#[tokio::test]
async fn a_refresh_token_is_introspected_too() {
    let server = TestServer::start().await;
    let (_, _, signed) = offline(&server, "introspect-rt@example.test").await;
    let (status, body) = post_as(
        &server,
        "/introspect",
        "rp-basic",
        &[
            ("token", signed.refresh.as_ref().unwrap().secret()),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], signed.sub.as_str());
    assert_eq!(body["client_id"], "rp-basic");
    assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());
}

#[tokio::test]
async fn anything_not_active_is_exactly_active_false() {
    let server = TestServer::start().await;
    let (_, _, signed) = offline(&server, "inactive@example.test").await;
    let at = signed.access.secret().clone();
    let refresh = signed.refresh.unwrap().secret().clone();
    let id_token = signed.id_token.to_string();
    let inactive = serde_json::json!({"active": false});
    for (caller, token) in [
        ("rp-basic", "garbage"),
        ("rp-basic", "a.b.c"),
        ("rp-basic", id_token.as_str()),
        ("rp-post", at.as_str()),
        ("service", at.as_str()),
        ("rp-post", refresh.as_str()),
    ] {
        let (status, body) = post_as(&server, "/introspect", caller, &[("token", token)]).await;
        assert_eq!((status, &body), (200, &inactive), "{caller}: {token:.20}");
    }
    post_as(&server, "/revoke", "rp-basic", &[("token", &at)]).await;
    let (_, body) = post_as(&server, "/introspect", "rp-basic", &[("token", &at)]).await;
    assert_eq!(body, inactive, "revoked");
}

#[tokio::test]
async fn introspection_needs_a_confidential_client() {
    let server = TestServer::start().await;
    let (_, _, signed) = offline(&server, "intro-auth@example.test").await;
    let at = signed.access.secret();
    for request in [
        rp_http()
            .post(server.url("/introspect"))
            .form(&[("token", at)]),
        rp_http()
            .post(server.url("/introspect"))
            .basic_auth("rp-basic", Some("wrong"))
            .form(&[("token", at)]),
        rp_http()
            .post(server.url("/introspect"))
            .form(&[("token", at.as_str()), ("client_id", "spa")]),
        rp_http()
            .post(server.url("/introspect"))
            .bearer_auth(at)
            .form(&[("token", at)]),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    let (status, body) = post_as(&server, "/introspect", "rp-basic", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

/// On PostgreSQL, reading a token's state (userinfo, introspection) runs on
/// connections of its own, outside the writers' lock: while another node's
/// long transaction holds that lock, a relying party still gets its
/// answers. (On SQLite every job shares the one database thread.)
#[tokio::test]
async fn on_postgresql_token_reads_are_answered_while_a_writer_holds_the_lock() {
    let server = TestServer::start().await;
    if !server.on_postgresql() {
        return;
    }
    let (_, _, signed) = offline(&server, "reads@example.test").await;
    let (release_tx, holder) = hold_the_writers_lock(&server);
    let within = std::time::Duration::from_secs(3);
    let http = rp_http();
    let userinfo = http
        .get(server.url("/userinfo"))
        .bearer_auth(signed.access.secret())
        .send();
    let userinfo = tokio::time::timeout(within, userinfo)
        .await
        .expect("userinfo answers while the lock is held")
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    let body: serde_json::Value = userinfo.json().await.unwrap();
    assert_eq!(body["email"], "reads@example.test");
    let form = [("token", signed.access.secret().as_str())];
    let introspected = post_as(&server, "/introspect", "rp-basic", &form);
    let (status, body) = tokio::time::timeout(within, introspected)
        .await
        .expect("introspection answers while the lock is held");
    assert_eq!((status, &body["active"]), (200, &serde_json::json!(true)));
    // A refresh token takes two statements (the token, then its grant).
    let form = [("token", signed.refresh.as_ref().unwrap().secret().as_str())];
    let introspected = post_as(&server, "/introspect", "rp-basic", &form);
    let (status, body) = tokio::time::timeout(within, introspected)
        .await
        .expect("a refresh token's introspection answers while the lock is held");
    assert_eq!((status, &body["active"]), (200, &serde_json::json!(true)));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
}
