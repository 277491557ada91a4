//! An issuer with a path (`http://127.0.0.1:PORT/sesame`, as behind a
//! reverse proxy that serves Sésame under a folder): every route answers
//! under that path, redirects and page links included, and a relying party
//! built with the `openidconnect` crate from discovery completes a code flow.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};

use crate::common::instance::write_instance;
use crate::helpers::*;

/// Sésame in-process with the issuer `http://<its address>/sesame`.
async fn start_under_a_path(dir: &std::path::Path) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = format!("http://{addr}/sesame");
    let path = write_instance(dir, &issuer, &addr.to_string(), &clients_toml(), "");
    let config = sesame::config::Config::load(&path).unwrap();
    let (router, app) = sesame::http::start::build(config).unwrap();
    tokio::spawn(sesame::http::start::run(listener, router, app.clone()));
    let user = crate::common::server::citizen("path@example.test", sesame::app::now());
    let mut user = user;
    user.email_verified = true;
    crate::common::server::insert(&app, user).await;
    (format!("http://{addr}"), issuer)
}

#[tokio::test]
async fn a_code_flow_runs_under_the_issuer_path() {
    let dir = tempfile::tempdir().unwrap();
    let (origin, issuer) = start_under_a_path(dir.path()).await;
    let http = rp_http();

    // Discovery at the issuer's own well-known URL; every endpoint under it.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp-basic".into()),
        Some(ClientSecret::new(BASIC_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(url.as_str().starts_with(&format!("{issuer}/authorize?")));

    // The browser's walk: every Location and every form under /sesame.
    let browser = browser();
    let mut next = browser.get(url.as_str()).send().await.unwrap();
    let callback = loop {
        let loc = location(&next);
        if loc.starts_with(REDIRECT) {
            break loc;
        }
        assert!(
            loc.starts_with("/sesame/"),
            "a redirect under the path: {loc}"
        );
        let html = text_of(&browser, format!("{origin}{loc}")).await;
        let page = unescape(&html);
        assert!(
            page.contains("href=\"/sesame/static/sesame.css\""),
            "{page}"
        );
        let (action, mut form) = if loc.starts_with("/sesame/login") {
            assert!(page.contains("action=\"/sesame/login\""), "{page}");
            assert!(page.contains("href=\"/sesame/password/forgot"), "{page}");
            (
                "/sesame/login",
                vec![
                    ("email", "path@example.test".to_owned()),
                    ("password", PASSWORD.to_owned()),
                ],
            )
        } else {
            assert!(page.contains("action=\"/sesame/consent\""), "{page}");
            ("/sesame/consent", vec![("decision", "accept".to_owned())])
        };
        form.push(("csrf", hidden(&html, "csrf")));
        form.push(("interaction", hidden(&html, "interaction")));
        next = browser
            .post(format!("{origin}{action}"))
            .form(&form)
            .send()
            .await
            .unwrap();
    };
    assert!(
        callback.contains(&format!("iss={}", urlencode(&issuer))),
        "{callback}"
    );
    let code = query(&callback)["code"].clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let claims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token verifies against the JWKS under the path");
    assert_eq!(claims.issuer().as_str(), issuer);

    // Nothing answers at the root any more.
    for path in [
        "/.well-known/openid-configuration",
        "/login",
        "/health/live",
    ] {
        let answer = http.get(format!("{origin}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
    let live = http
        .get(format!("{issuer}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
