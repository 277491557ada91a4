//! RP-Initiated Logout 1.0 at the end-session endpoint, the logout URL
//! built by the `openidconnect` crate: a valid hint logs out at once, a
//! page asks otherwise, only registered addresses are followed, and ending
//! the session revokes what it produced except offline refresh tokens.

use openidconnect::core::CoreClient;
use openidconnect::{
    ClientId, CsrfToken, IssuerUrl, LanguageTag, LogoutRequest, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout,
};

use crate::helpers::*;
use crate::rp::*;

const BYE: &str = "http://127.0.0.1:9/bye";
const BYE_ENCODED: &str = "http%3A%2F%2F127.0.0.1%3A9%2Fbye";

/// The logout URL for `signed`'s ID token, built by the crate from the
/// discovered `end_session_endpoint`.
async fn logout_url(server: &TestServer, signed: &Signed, state: &str) -> String {
    let metadata = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(server.base.clone()).unwrap(),
        &rp_http(),
    )
    .await
    .unwrap();
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint advertised");
    // The crate's client accepts this metadata as well.
    let _ = CoreClient::from_provider_metadata(metadata, ClientId::new("rp-basic".into()), None);
    LogoutRequest::from(end_session)
        .set_id_token_hint(&signed.id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .set_state(CsrfToken::new(state.into()))
        .http_get_url()
        .to_string()
}

async fn signed_in_rp(server: &TestServer, email: &str) -> (reqwest::Client, Signed) {
    server.add_user(email, true).await;
    let client = rp(server, "rp-basic", Some(BASIC_SECRET)).await;
    let browser = browser();
    let signed = code_flow(server, &browser, &client, &["email"], email).await;
    (browser, signed)
}

#[tokio::test]
async fn a_valid_hint_logs_out_at_once_and_returns_with_state() {
    let server = TestServer::start().await;
    let (browser, signed) = signed_in_rp(&server, "bye@example.test").await;
    // A second service in the same session.
    let spa = rp(&server, "spa", None).await;
    let other = code_flow(&server, &browser, &spa, &["email"], "bye@example.test").await;
    assert_eq!(other.sid, signed.sid, "one session, two services");

    let response = browser
        .get(logout_url(&server, &signed, "xyz").await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("{BYE}?state=xyz"));
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("sesame_session=;"));
    assert!(cleared, "the session cookie is removed");

    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "login_required"
    );
    assert_eq!(silent(&server, &browser, "spa").await, "login_required");
    for token in [&signed.access, &other.access] {
        assert_eq!(userinfo_status(&server, token.secret()).await, 401);
    }
    assert!(!active(&server, "rp-basic", signed.access.secret()).await);
}

#[tokio::test]
async fn without_a_hint_the_citizen_confirms_first() {
    let server = TestServer::start().await;
    let (browser, signed) = signed_in_rp(&server, "confirm@example.test").await;
    let page = browser
        .get(server.url(&format!(
            "/logout?client_id=rp-basic&post_logout_redirect_uri={BYE_ENCODED}&state=abc"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Se déconnecter"), "{html}");
    assert!(html.contains("Espace Citoyens"));
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "code",
        "nothing happened yet"
    );

    let mut form = vec![
        ("client_id", hidden(&html, "client_id")),
        (
            "post_logout_redirect_uri",
            hidden(&html, "post_logout_redirect_uri"),
        ),
        ("state", hidden(&html, "state")),
        ("decision", "logout".to_owned()),
    ];
    let forged = browser
        .post(server.url("/logout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400, "no CSRF token, no logout");
    assert_eq!(silent(&server, &browser, "rp-basic").await, "code");

    form.push(("csrf", hidden(&html, "csrf")));
    let done = browser
        .post(server.url("/logout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), format!("{BYE}?state=abc"));
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "login_required"
    );
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 401);
}

#[tokio::test]
async fn choosing_to_stay_keeps_the_session() {
    let server = TestServer::start().await;
    let (browser, signed) = signed_in_rp(&server, "stay@example.test").await;
    let html = text_of(&browser, server.url("/logout")).await;
    let stay = browser
        .post(server.url("/logout"))
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("decision", "stay"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stay.status(), 303);
    assert_eq!(location(&stay), "/");
    assert_eq!(silent(&server, &browser, "rp-basic").await, "code");
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 200);
}

#[tokio::test]
async fn a_hint_for_someone_else_asks_first() {
    let server = TestServer::start().await;
    let (_, alice) = signed_in_rp(&server, "alice@example.test").await;
    let (bob_browser, _) = signed_in_rp(&server, "bob@example.test").await;
    let response = bob_browser
        .get(logout_url(&server, &alice, "s").await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a page, not a logout");
    assert!(response.text().await.unwrap().contains("Se déconnecter"));
    assert_eq!(silent(&server, &bob_browser, "rp-basic").await, "code");
}

#[tokio::test]
async fn never_redirected_to_an_unregistered_address() {
    let server = TestServer::start().await;
    let (browser, signed) = signed_in_rp(&server, "evil@example.test").await;
    let hint = signed.id_token.to_string();
    for query in [
        format!("id_token_hint={hint}&post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F"),
        format!("id_token_hint={hint}&post_logout_redirect_uri={BYE_ENCODED}%2F"),
        format!("id_token_hint={hint}&client_id=rp-post&post_logout_redirect_uri={BYE_ENCODED}"),
        format!("client_id=ghost&post_logout_redirect_uri={BYE_ENCODED}"),
        format!("client_id=rp-post&post_logout_redirect_uri={BYE_ENCODED}"),
        format!("client_id=rp-basic&client_id=rp-basic&post_logout_redirect_uri={BYE_ENCODED}"),
    ] {
        let response = browser
            .get(server.url(&format!("/logout?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query:.80}");
        assert!(response.headers().get("location").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Demande de déconnexion invalide")
        );
    }
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "code",
        "still signed in"
    );

    // A hint that does not verify cannot vouch for the address: ask, then
    // end without redirection.
    let page = browser
        .get(server.url(&format!(
            "/logout?id_token_hint=not.a.token&post_logout_redirect_uri={BYE_ENCODED}&state=s"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(!html.contains("post_logout_redirect_uri"), "not carried");
    let done = browser
        .post(server.url("/logout"))
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("decision", "logout"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.headers().get("location").is_none());
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("Vous êtes déconnecté(e)")
    );
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "login_required"
    );
}

#[tokio::test]
async fn offline_refresh_tokens_survive_logout() {
    let server = TestServer::start().await;
    let (browser, client, signed) = offline(&server, "offline-bye@example.test").await;
    let response = browser
        .get(logout_url(&server, &signed, "s").await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(userinfo_status(&server, signed.access.secret()).await, 401);
    let refreshed = client
        .exchange_refresh_token(signed.refresh.as_ref().unwrap())
        .unwrap()
        .request_async(&rp_http())
        .await
        .expect("offline_access outlives the session");
    use openidconnect::OAuth2TokenResponse;
    assert_eq!(
        userinfo_status(&server, refreshed.access_token().secret()).await,
        200
    );
}

#[tokio::test]
async fn post_requests_ui_locales_and_no_session() {
    let server = TestServer::start().await;
    let (browser, signed) = signed_in_rp(&server, "post-bye@example.test").await;
    let page = text_of(&browser, server.url("/logout?ui_locales=en")).await;
    assert!(page.contains("Do you want to sign out") && page.contains("<html lang=\"en\">"));

    let metadata = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(server.base.clone()).unwrap(),
        &rp_http(),
    )
    .await
    .unwrap();
    let url = LogoutRequest::from(
        metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .unwrap(),
    )
    .set_id_token_hint(&signed.id_token)
    .add_ui_locale(LanguageTag::new("en".into()))
    .http_get_url();
    let form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let done = browser
        .post(server.url("/logout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "POST works too; no address, so a page");
    assert!(done.text().await.unwrap().contains("You are signed out"));

    // Without a session there is nothing to ask: straight back.
    let fresh = browser
        .get(server.url(&format!(
            "/logout?client_id=rp-basic&post_logout_redirect_uri={BYE_ENCODED}&state=again"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&fresh), format!("{BYE}?state=again"));
}

#[tokio::test]
async fn discovery_advertises_logout_revocation_and_introspection() {
    let server = TestServer::start().await;
    let doc: serde_json::Value = rp_http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["end_session_endpoint"], server.url("/logout"));
    assert_eq!(doc["revocation_endpoint"], server.url("/revoke"));
    assert_eq!(doc["introspection_endpoint"], server.url("/introspect"));
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == "client_credentials"));
    for key in [
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert!(
            doc[key]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "client_secret_basic"),
            "{key}"
        );
    }
    assert!(
        !doc["introspection_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "none"),
        "public clients cannot introspect"
    );
}

#[tokio::test]
async fn hostile_input_gets_4xx_or_a_page_never_5xx() {
    let server = TestServer::start().await;
    let (browser, _) = signed_in_rp(&server, "hostile-bye@example.test").await;
    let huge = "x".repeat(20_000);
    for query in [
        format!("id_token_hint={huge}"),
        "id_token_hint=%ff%fe&client_id=%00".to_owned(),
        "post_logout_redirect_uri=javascript:alert(1)&client_id=rp-basic".to_owned(),
        format!("state={huge}&client_id=rp-basic&post_logout_redirect_uri={BYE_ENCODED}"),
        "id_token_hint=a.b.c&id_token_hint=d.e.f".to_owned(),
    ] {
        let response = browser
            .get(server.url(&format!("/logout?{query}")))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{query:.60} → {}",
            response.status()
        );
    }
    for body in [
        vec![0xff, 0xfe, b'=', 0x80],
        b"decision=logout&csrf=%zz".to_vec(),
    ] {
        let response = browser
            .post(server.url("/logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().as_u16() < 500);
    }
    for path in ["/revoke", "/introspect"] {
        for body in [
            format!("token={huge}"),
            "token=%ff%fe".to_owned(),
            "token=a&token=b".to_owned(),
        ] {
            let response = rp_http()
                .post(server.url(path))
                .basic_auth("rp-basic", Some(BASIC_SECRET))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert!(response.status().as_u16() < 500, "{path} {body:.40}");
        }
    }
    assert_eq!(
        silent(&server, &browser, "rp-basic").await,
        "code",
        "still signed in"
    );
}
