//! Discovery 1.0 and the JWKS.

use crate::helpers::*;

#[tokio::test]
async fn discovery_is_complete_and_every_url_answers() {
    let server = TestServer::start().await;
    let http = rp_http();
    let doc: serde_json::Value = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], server.base);
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["claims_parameter_supported"], true);
    for key in [
        "scopes_supported",
        "claims_supported",
        "grant_types_supported",
        "response_modes_supported",
        "token_endpoint_auth_methods_supported",
        "id_token_signing_alg_values_supported",
        "subject_types_supported",
        "ui_locales_supported",
    ] {
        assert!(doc[key].as_array().is_some_and(|a| !a.is_empty()), "{key}");
    }
    let mut checked = 0;
    for (key, value) in doc.as_object().unwrap() {
        let Some(url) = value.as_str().filter(|v| v.starts_with("http")) else {
            continue;
        };
        if key == "issuer" {
            continue;
        }
        assert!(url.starts_with(&server.base), "{key} is on the issuer");
        let response = http.get(url).send().await.unwrap();
        assert!(
            response.status().as_u16() < 500 && response.status() != 404,
            "{key} = {url} answered {}",
            response.status()
        );
        checked += 1;
    }
    assert!(checked >= 5, "followed {checked} URLs");
}

#[tokio::test]
async fn jwks_has_public_keys_only() {
    let server = TestServer::start().await;
    let jwks: serde_json::Value = rp_http()
        .get(server.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published"
            );
        }
        assert!(key["kid"].is_string() && key["kty"].is_string() && key["use"] == "sig");
    }
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let server = TestServer::start().await;
    let before: serde_json::Value = rp_http()
        .get(server.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config = sesame::config::Config::load(&server.dir.path().join("sesame.toml")).unwrap();
    let (_, again) = sesame::http::start::build(config).unwrap();
    let after: serde_json::Value = serde_json::from_slice(&again.keys.jwks_json()).unwrap();
    assert_eq!(before, after, "same kids after a restart");
}

#[tokio::test]
async fn browser_applications_may_call_the_json_endpoints() {
    let server = TestServer::start().await;
    let preflight = rp_http()
        .request(reqwest::Method::OPTIONS, server.url("/userinfo"))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let jwks = rp_http()
        .get(server.url("/jwks.json"))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    let login = rp_http()
        .get(server.url("/login"))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(
        login.headers().get("access-control-allow-origin").is_none(),
        "pages are not for other origins"
    );
}
