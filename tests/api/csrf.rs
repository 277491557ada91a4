//! CSRF tokens bound to their browser, and cookies that a sibling
//! subdomain cannot set (`__Host-` on an https issuer).

use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::redirect::Policy;

use crate::helpers::*;

/// The values of the `Set-Cookie` headers of `response`.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value of cookie `name` set by `response`.
fn cookie_value(response: &reqwest::Response, name: &str) -> String {
    let prefix = format!("{name}=");
    let header = set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {:?}", set_cookies(response)));
    header[prefix.len()..].split(';').next().unwrap().to_owned()
}

/// A signed-in browser whose cookie jar the test can write to.
async fn signed_in_with_jar(server: &TestServer, email: &str) -> (reqwest::Client, Arc<Jar>) {
    server.add_user(email, true).await;
    let jar = Arc::new(Jar::default());
    let b = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .unwrap();
    sign_in_and_consent(server, &b, &auth_url(server, ""), email).await;
    (b, jar)
}

/// Posts the logout confirmation with `token`; true when signed out.
async fn logout_with(server: &TestServer, b: &reqwest::Client, token: &str) -> bool {
    let response = b
        .post(server.url("/logout"))
        .form(&[("csrf", token), ("decision", "logout")])
        .send()
        .await
        .unwrap();
    let signed_out = response.status() == 200;
    if !signed_out {
        assert_eq!(response.status(), 400);
        let page = unescape(&response.text().await.unwrap());
        assert!(page.contains("Le formulaire a expiré"), "{page}");
    }
    signed_out
}

#[tokio::test]
async fn a_token_from_another_browser_or_a_planted_pair_is_refused() {
    let server = TestServer::start().await;
    let email = "victim@example.test";
    let (victim, jar) = signed_in_with_jar(&server, email).await;

    // The attacker's own browser: its CSRF cookie and the token of its page.
    let page = rp_http().get(server.url("/login")).send().await.unwrap();
    let attacker_cookie = cookie_value(&page, "sesame_csrf");
    let attacker_token = hidden(&page.text().await.unwrap(), "csrf");
    assert_ne!(
        attacker_cookie, attacker_token,
        "the cookie's value never appears in a page"
    );

    assert!(
        !logout_with(&server, &victim, &attacker_token).await,
        "another browser's token"
    );
    // Cookie tossing: the attacker plants their cookie with its token.
    jar.add_cookie_str(
        &format!("sesame_csrf={attacker_cookie}; Path=/"),
        &server.base.parse().unwrap(),
    );
    assert!(
        !logout_with(&server, &victim, &attacker_token).await,
        "a planted pair is bound to no session of the victim's"
    );
    assert!(text_of(&victim, server.url("/")).await.contains(email));

    // The victim's own form works.
    let html = text_of(&victim, server.url("/logout")).await;
    assert!(logout_with(&server, &victim, &hidden(&html, "csrf")).await);
    assert!(!text_of(&victim, server.url("/")).await.contains(email));
}

#[tokio::test]
async fn cookies_are_host_prefixed_and_secure_on_an_https_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = "https://id.example.test";
    let running =
        crate::common::server::start_as(dir.path(), Some(issuer), &clients_toml(), "").await;
    let email = "host@example.test";
    let mut user = crate::common::server::citizen(email, sesame::app::now());
    user.email_verified = true;
    crate::common::server::insert(&running.app, user).await;
    let url = |path: &str| format!("{}{path}", running.base);

    let page = rp_http().get(url("/login")).send().await.unwrap();
    let csrf_header = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("__Host-sesame_csrf="))
        .expect("the CSRF cookie is __Host- prefixed");
    for attribute in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(csrf_header.contains(attribute), "{csrf_header}");
    }
    assert!(!csrf_header.contains("Domain"), "{csrf_header}");
    let csrf_cookie = cookie_value(&page, "__Host-sesame_csrf");
    let token = hidden(&page.text().await.unwrap(), "csrf");

    let signed = rp_http()
        .post(url("/login"))
        .header("cookie", format!("__Host-sesame_csrf={csrf_cookie}"))
        .form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed.status(),
        303,
        "the prefixed CSRF cookie is the one read"
    );
    let session_header = set_cookies(&signed)
        .into_iter()
        .find(|c| c.starts_with("__Host-sesame_session="))
        .expect("the session cookie is __Host- prefixed");
    for attribute in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(session_header.contains(attribute), "{session_header}");
    }
    assert!(!session_header.contains("Domain"), "{session_header}");
    let session = cookie_value(&signed, "__Host-sesame_session");
    let home = rp_http()
        .get(url("/"))
        .header("cookie", format!("__Host-sesame_session={session}"))
        .send()
        .await
        .unwrap();
    assert!(home.text().await.unwrap().contains(email), "signed in");

    let plain = rp_http()
        .get(url("/"))
        .header("cookie", format!("sesame_session={session}"))
        .send()
        .await
        .unwrap();
    assert!(
        !plain.text().await.unwrap().contains(email),
        "an unprefixed cookie (settable by a sibling subdomain) is ignored"
    );
}
