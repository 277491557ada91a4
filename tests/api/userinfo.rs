//! UserInfo (OIDC Core §5.3, RFC 6750).

use crate::helpers::*;

#[tokio::test]
async fn get_and_post_with_header_or_body() {
    let server = TestServer::start().await;
    let (_, tokens) = signed_in(&server, "info@example.test").await;
    let at = tokens["access_token"].as_str().unwrap();
    let http = rp_http();
    let get: serde_json::Value = http
        .get(server.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get["email"], "info@example.test");
    assert_eq!(
        get["sub"],
        jwt_claims(tokens["id_token"].as_str().unwrap())["sub"]
    );
    for not_granted in [
        "given_name",
        "family_name",
        "address",
        "phone_number",
        "roles",
        "birthdate",
    ] {
        assert!(
            get.get(not_granted).is_none(),
            "{not_granted} was not granted"
        );
    }
    let post = http
        .post(server.url("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let body = http
        .post(server.url("/userinfo"))
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    assert_eq!(
        body.json::<serde_json::Value>().await.unwrap()["email"],
        "info@example.test"
    );
}

#[tokio::test]
async fn all_scopes_release_the_french_identity_claims() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "full@example.test").await;
    let url = auth_url(&server, "").replace(
        "openid%20email",
        "openid%20email%20profile%20address%20phone%20roles",
    );
    let callback = sign_in_and_consent(&server, &b, &url, "full@example.test").await;
    let (_, tokens) = redeem(&server, &query(&callback)["code"]).await;
    let info: serde_json::Value = rp_http()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["family_name"], "Test");
    assert_eq!(info["given_name"], "Nathalie");
    assert_eq!(info["preferred_username"], "Test DSI");
    assert_eq!(info["gender"], "female");
    assert_eq!(info["birthdate"], "1977-01-01");
    assert_eq!(info["phone_number"], "+33145252623");
    assert_eq!(info["address"]["postal_code"], "94500");
    assert_eq!(info["roles"], serde_json::json!(["citizen"]));
}

#[tokio::test]
async fn bad_tokens_get_401_with_invalid_token() {
    let server = TestServer::start().await;
    let http = rp_http();
    for token in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let response = http
            .get(server.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{token}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
    }
    let none = http.get(server.url("/userinfo")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    // An ID token is not an access token.
    let (_, tokens) = signed_in(&server, "idtoken@example.test").await;
    let response = http
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["id_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let server = TestServer::start_with("[tokens]\naccess_token_ttl_seconds = 1\n").await;
    let (_, tokens) = signed_in(&server, "expired@example.test").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let response = rp_http()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn only_the_token_exactly_as_issued_is_honoured() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let server = TestServer::start().await;
    let (_, tokens) = signed_in(&server, "digest@example.test").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let status = |token: String| {
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
    assert_eq!(status(at.clone()).await, 200);
    let parts: Vec<&str> = at.split('.').collect();
    // Any change to the signature, the header or the payload is refused.
    let mut tampered = at.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(status(tampered).await, 401, "signature");
    let header = format!("{}x.{}.{}", parts[0], parts[1], parts[2]);
    assert_eq!(status(header).await, 401, "header");
    // The same jti with a wider scope and the original signature.
    let mut claims = jwt_claims(&at);
    claims["scope"] = "openid email profile phone address".into();
    let payload = B64.encode(claims.to_string());
    let widened = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(status(widened).await, 401, "payload");
    // The same payload unsigned.
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
        parts[1]
    );
    assert_eq!(status(none).await, 401, "alg none");
    assert_eq!(status(at).await, 200, "the original still works");
}

/// RFC 6750 §2: one token, one place. A token in the URL as well as in the
/// header or body is refused, as is one in the URL alone (not supported).
#[tokio::test]
async fn a_token_in_more_than_one_place_is_invalid_request() {
    let server = TestServer::start().await;
    let (_, tokens) = signed_in(&server, "twice@example.test").await;
    let at = tokens["access_token"].as_str().unwrap();
    let http = rp_http();
    let in_url = server.url(&format!("/userinfo?access_token={at}"));
    let cases = [
        http.get(&in_url).bearer_auth(at),
        http.post(&in_url).form(&[("access_token", at)]),
        http.post(server.url("/userinfo"))
            .bearer_auth(at)
            .form(&[("access_token", at)]),
        http.get(&in_url),
    ];
    for request in cases {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 400);
        let challenge = answer.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("invalid_request"), "{challenge}");
    }
}
