//! The token endpoint (RFC 6749 §3.2, §4.1.3, §5; RFC 7636; RFC 9700).

use crate::helpers::*;

/// A code for `rp-basic` (no PKCE), from a browser that has consented.
pub async fn code_for(server: &TestServer, browser: &reqwest::Client, extra: &str) -> String {
    let response = browser.get(auth_url(server, extra)).send().await.unwrap();
    query(&location(&response))["code"].clone()
}

async fn post_token(
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
    server: &TestServer,
) -> reqwest::Response {
    let mut request = rp_http().post(server.url("/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn token_response_shape_and_no_store() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "shape@example.test").await;
    let code = code_for(&server, &b, "&nonce=n-0S6").await;
    let response = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
        Some(("rp-basic", BASIC_SECRET)),
        &server,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access requested"
    );
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "amr",
        "sid",
    ] {
        assert!(id.get(claim).is_some(), "ID token lacks {claim}: {id}");
    }
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["aud"], "rp-basic");
    let at = body["access_token"].as_str().unwrap();
    let header: serde_json::Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(at.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["typ"], "at+jwt", "RFC 9068");
    assert_eq!(header["alg"], "ES256");
    let claims = jwt_claims(at);
    for claim in [
        "iss",
        "exp",
        "aud",
        "sub",
        "client_id",
        "iat",
        "jti",
        "scope",
    ] {
        assert!(claims.get(claim).is_some(), "access token lacks {claim}");
    }
}

#[tokio::test]
async fn a_code_works_once_and_its_replay_revokes_the_tokens() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "replay@example.test").await;
    let code = code_for(&server, &b, "").await;
    let (status, first) = redeem(&server, &code).await;
    assert_eq!(status, 200);
    let at = first["access_token"].as_str().unwrap();
    let userinfo = |token: String| {
        let url = server.url("/userinfo");
        async move {
            rp_http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(at.to_owned()).await, 200);
    let (status, second) = redeem(&server, &code).await;
    assert_eq!(status, 400);
    assert_eq!(second["error"], "invalid_grant");
    assert_eq!(
        userinfo(at.to_owned()).await,
        401,
        "the first redemption's token is revoked"
    );
}

#[tokio::test]
async fn codes_are_bound_to_client_redirect_uri_and_pkce() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "bound@example.test").await;

    let code = code_for(&server, &b, "").await;
    let other_client = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "rp-post"),
            ("client_secret", POST_SECRET),
        ],
        None,
        &server,
    )
    .await;
    assert_eq!(other_client.status(), 400);
    assert_eq!(
        other_client.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let wrong_redirect = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
        ],
        Some(("rp-basic", BASIC_SECRET)),
        &server,
    )
    .await;
    assert_eq!(
        wrong_redirect.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let missing_redirect = post_token(
        &[("grant_type", "authorization_code"), ("code", &code)],
        Some(("rp-basic", BASIC_SECRET)),
        &server,
    )
    .await;
    assert_eq!(
        missing_redirect.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        redeem(&server, &code).await.0,
        200,
        "refused attempts did not consume the code"
    );

    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let code = code_for(&server, &b, &pkce).await;
    assert_eq!(
        redeem(&server, &code).await.1["error"],
        "invalid_grant",
        "verifier required once a challenge was sent"
    );
    let wrong = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &VERIFIER.replace('d', "e")),
        ],
        Some(("rp-basic", BASIC_SECRET)),
        &server,
    )
    .await;
    assert_eq!(
        wrong.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let right = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        Some(("rp-basic", BASIC_SECRET)),
        &server,
    )
    .await;
    assert_eq!(right.status(), 200);

    let code = code_for(&server, &b, "").await;
    let downgrade = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        Some(("rp-basic", BASIC_SECRET)),
        &server,
    )
    .await;
    assert_eq!(
        downgrade.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant",
        "verifier without challenge"
    );
}

#[tokio::test]
async fn client_authentication_failures_are_401_with_a_challenge() {
    let server = TestServer::start().await;
    for (form, basic) in [
        (
            vec![("grant_type", "authorization_code"), ("code", "x")],
            Some(("rp-basic", "wrong")),
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", "x")],
            Some(("ghost", "x")),
        ),
        (
            vec![("grant_type", "authorization_code"), ("code", "x")],
            None,
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", "rp-basic"),
                ("client_secret", BASIC_SECRET),
            ],
            None,
        ),
        (
            vec![
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", "rp-post"),
            ],
            None,
        ),
    ] {
        let response = post_token(&form, basic, &server).await;
        assert_eq!(response.status(), 401, "{form:?} {basic:?}");
        assert!(response.headers().get("www-authenticate").is_some());
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap()["error"],
            "invalid_client"
        );
    }
}

#[tokio::test]
async fn grant_type_errors() {
    let server = TestServer::start().await;
    let basic = Some(("rp-basic", BASIC_SECRET));
    let missing = post_token(&[("code", "x")], basic, &server).await;
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let unknown = post_token(&[("grant_type", "password")], basic, &server).await;
    assert_eq!(
        unknown.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let not_allowed = post_token(&[("grant_type", "client_credentials")], basic, &server).await;
    assert_eq!(
        not_allowed.json::<serde_json::Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    let bad_code = post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("redirect_uri", REDIRECT),
        ],
        basic,
        &server,
    )
    .await;
    assert_eq!(bad_code.status(), 400);
    assert_eq!(
        bad_code.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}
