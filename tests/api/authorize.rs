//! The authorization endpoint's rules and errors (RFC 6749 §4.1, OIDC Core
//! §3.1.2, RFC 9207, RFC 9700).

use crate::helpers::*;

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let server = TestServer::start().await;
    let b = browser();
    for q in [
        "/authorize?response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
        "/authorize?client_id=nobody&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
        "/authorize?client_id=rp-basic&response_type=code&scope=openid",
        "/authorize?client_id=rp-basic&response_type=code&scope=openid&redirect_uri=http%3A%2F%2Fevil.example%2Fcb",
        "/authorize?client_id=rp-basic&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb%2F",
        "/authorize?client_id=rp-basic&client_id=rp-basic&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb",
    ] {
        let response = b.get(server.url(q)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{q}");
        assert!(response.headers().get("location").is_none(), "{q}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("Demande de connexion invalide"), "{html}");
    }
}

#[tokio::test]
async fn errors_after_trust_are_redirected_with_state_and_iss() {
    let server = TestServer::start().await;
    let b = browser();
    for (extra, error) in [
        ("&scope=openid", "invalid_request"),
        ("&request=eyJ", "request_not_supported"),
        ("&request_uri=https%3A%2F%2Fa", "request_uri_not_supported"),
        ("&prompt=none%20login", "invalid_request"),
        (
            "&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
        ),
    ] {
        let response = b.get(auth_url(&server, extra)).send().await.unwrap();
        let loc = location(&response);
        assert!(loc.starts_with(REDIRECT), "{extra}: {loc}");
        let q = query(&loc);
        assert_eq!(q["error"], error, "{extra}");
        assert_eq!(q["state"], "st4te");
        assert_eq!(q["iss"], server.base);
        assert!(!q["error_description"].is_empty());
    }
    let bad_scope = auth_url(&server, "").replace("scope=openid%20email", "scope=openid%20wat");
    let q = query(&location(&b.get(bad_scope).send().await.unwrap()));
    assert_eq!(q["error"], "invalid_scope");
    let no_openid = auth_url(&server, "").replace("scope=openid%20email", "scope=email");
    assert_eq!(
        query(&location(&b.get(no_openid).send().await.unwrap()))["error"],
        "invalid_scope"
    );
    let token_flow = auth_url(&server, "").replace("response_type=code", "response_type=token");
    assert_eq!(
        query(&location(&b.get(token_flow).send().await.unwrap()))["error"],
        "unsupported_response_type"
    );
}

#[tokio::test]
async fn public_clients_must_use_pkce() {
    let server = TestServer::start().await;
    let url = auth_url(&server, "").replace("rp-basic", "spa");
    let q = query(&location(&browser().get(&url).send().await.unwrap()));
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("PKCE"));
}

#[tokio::test]
async fn prompt_none_without_session_or_consent() {
    let server = TestServer::start().await;
    let q = query(&location(
        &browser()
            .get(auth_url(&server, "&prompt=none"))
            .send()
            .await
            .unwrap(),
    ));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st4te");

    let (b, _) = signed_in(&server, "none@example.test").await;
    let ok = query(&location(
        &b.get(auth_url(&server, "&prompt=none"))
            .send()
            .await
            .unwrap(),
    ));
    assert!(
        ok.contains_key("code"),
        "signed in and consented: a code with no page"
    );
    let wider =
        auth_url(&server, "&prompt=none").replace("openid%20email", "openid%20email%20profile");
    assert_eq!(
        query(&location(&b.get(wider).send().await.unwrap()))["error"],
        "consent_required"
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_again_with_a_new_auth_time() {
    let server = TestServer::start().await;
    let (b, first) = signed_in(&server, "again@example.test").await;
    let first_auth_time = jwt_claims(first["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    for extra in ["&prompt=login", "&max_age=0"] {
        let response = b.get(auth_url(&server, extra)).send().await.unwrap();
        assert!(
            location(&response).starts_with("/login"),
            "{extra} shows the login form again"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let callback = sign_in_and_consent(
        &server,
        &b,
        &auth_url(&server, "&max_age=0"),
        "again@example.test",
    )
    .await;
    let (_, tokens) = redeem(&server, &query(&callback)["code"]).await;
    let auth_time = jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    assert!(
        auth_time > first_auth_time,
        "a new auth_time after re-authentication"
    );
    let recent = b
        .get(auth_url(&server, "&max_age=3600"))
        .send()
        .await
        .unwrap();
    assert!(
        query(&location(&recent)).contains_key("code"),
        "a recent login satisfies max_age"
    );
}

#[tokio::test]
async fn login_hint_prefills_the_email_and_ui_locales_picks_english() {
    let server = TestServer::start().await;
    let b = browser();
    let response = b
        .get(auth_url(
            &server,
            "&login_hint=hint%40example.test&ui_locales=en",
        ))
        .send()
        .await
        .unwrap();
    let html = b
        .get(server.url(&location(&response)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"hint@example.test\""), "{html}");
    assert!(html.contains("<html lang=\"en\">") && html.contains("Sign in"));
}

#[tokio::test]
async fn id_token_hint_with_prompt_none() {
    let server = TestServer::start().await;
    let (b, tokens) = signed_in(&server, "hint@example.test").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let same = b
        .get(auth_url(
            &server,
            &format!("&prompt=none&id_token_hint={id_token}"),
        ))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&same)).contains_key("code"));

    let (_, other) = signed_in(&server, "someone-else@example.test").await;
    let other_hint = other["id_token"].as_str().unwrap();
    let response = b
        .get(auth_url(
            &server,
            &format!("&prompt=none&id_token_hint={other_hint}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&response))["error"], "login_required");

    let forged = b
        .get(auth_url(&server, "&prompt=none&id_token_hint=a.b.c"))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&forged))["error"], "invalid_request");
}

#[tokio::test]
async fn signing_in_as_someone_else_than_the_hint_gives_login_required() {
    let server = TestServer::start().await;
    let (_, alice) = signed_in(&server, "alice-hint@example.test").await;
    server.add_user("bob-hint@example.test", true).await;
    let hint = alice["id_token"].as_str().unwrap();
    let b = browser();
    let start = b
        .get(auth_url(&server, &format!("&id_token_hint={hint}")))
        .send()
        .await
        .unwrap();
    let login = location(&start);
    assert!(login.starts_with("/login?interaction="), "{login}");
    let answer = submit_login(&server, &b, &login, "bob-hint@example.test").await;
    assert!(answer.starts_with(REDIRECT), "back to the client: {answer}");
    let q = query(&answer);
    assert_eq!(q["error"], "login_required", "{answer}");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["iss"], server.base);
    assert!(
        !q.contains_key("code"),
        "no code for bob on a request for alice"
    );

    let again = b
        .get(auth_url(&server, &format!("&id_token_hint={hint}")))
        .send()
        .await
        .unwrap();
    let login = location(&again);
    assert!(
        login.starts_with("/login?interaction="),
        "bob's session is not alice's: {login}"
    );
    let answer = submit_login(&server, &b, &login, "alice-hint@example.test").await;
    assert!(
        query(&answer).contains_key("code"),
        "the hinted citizen gets her code: {answer}"
    );
}

#[tokio::test]
async fn claims_parameter_returns_the_requested_claims() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "claims@example.test").await;
    let claims =
        r#"{"id_token":{"given_name":{"essential":true}},"userinfo":{"phone_number":null}}"#;
    let url = auth_url(
        &server,
        &format!(
            "&claims={}",
            url::form_urlencoded::byte_serialize(claims.as_bytes()).collect::<String>()
        ),
    );
    let callback = sign_in_and_consent(&server, &b, &url, "claims@example.test").await;
    let (_, tokens) = redeem(&server, &query(&callback)["code"]).await;
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["given_name"], "Nathalie");
    assert!(id.get("family_name").is_none());
    let info: serde_json::Value = rp_http()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["phone_number"], "+33145252623");
    assert_eq!(info["email"], "claims@example.test");
    assert!(info.get("address").is_none());
}

#[tokio::test]
async fn form_post_and_post_to_the_endpoint() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "post@example.test").await;
    let response = b
        .get(auth_url(&server, "&response_mode=form_post"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    let html = unescape(&response.text().await.unwrap());
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(!hidden(&html, "code").is_empty());
    assert_eq!(hidden(&html, "state"), "st4te");
    assert_eq!(hidden(&html, "iss"), server.base);

    let body = auth_url(&server, "").split_once('?').unwrap().1.to_owned();
    let response = b
        .post(server.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        query(&location(&response)).contains_key("code"),
        "POST authorize works like GET"
    );
}

#[tokio::test]
async fn refusing_consent_returns_access_denied() {
    let server = TestServer::start().await;
    server.add_user("refuse@example.test", true).await;
    let b = browser();
    let to_login = location(&b.get(auth_url(&server, "")).send().await.unwrap());
    let to_consent = submit_login(&server, &b, &to_login, "refuse@example.test").await;
    let html = unescape(&text_of(&b, server.url(&to_consent)).await);
    assert!(
        html.contains("Consentement pour le site Espace Citoyens"),
        "{html}"
    );
    assert!(html.contains("<li>Courriel</li>"));
    assert!(html.contains("https://example.org/confidentialite"));
    assert!(html.contains("Refuser") && html.contains("Accepter"));
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", hidden(&html, "interaction")),
        ("decision", "deny".into()),
    ];
    let q = query(&location(
        &b.post(server.url("/consent"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    ));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["iss"], server.base);
}

#[tokio::test]
async fn implicit_consent_clients_skip_the_page() {
    let server = TestServer::start().await;
    server.add_user("agent@example.test", true).await;
    let url = auth_url(&server, "").replace("rp-basic", "city-es256");
    let b = browser();
    let to_login = location(&b.get(&url).send().await.unwrap());
    let back = submit_login(&server, &b, &to_login, "agent@example.test").await;
    assert!(
        back.starts_with(REDIRECT),
        "straight back to the client after login: {back}"
    );
    assert!(query(&back).contains_key("code"));
}
