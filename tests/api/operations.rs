//! What operators rely on: clients.toml reload keeps the old clients on a
//! bad file, and an https issuer makes cookies Secure.

use crate::helpers::*;

#[tokio::test]
async fn reloading_clients_applies_a_good_file_and_keeps_the_old_on_a_bad_one() {
    let server = TestServer::start().await;
    let path = server.dir.path().join("clients.toml");
    let added = format!(
        "{}\n[[client]]\nid = \"library\"\nname = \"Médiathèque\"\nauth_method = \"none\"\nscopes = [\"openid\", \"email\"]\nredirect_uris = [\"{REDIRECT}\"]\n",
        clients_toml()
    );
    std::fs::write(&path, &added).unwrap();
    assert_eq!(server.app.reload_clients().unwrap(), 6);
    let url = auth_url(
        &server,
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
    )
    .replace("rp-basic", "library");
    let response = browser().get(&url).send().await.unwrap();
    assert!(
        location(&response).starts_with("/login"),
        "the new client is known"
    );

    std::fs::write(&path, "[[client]]\nid = \"broken\"\nsecret = \"plain\"\n").unwrap();
    let err = server.app.reload_clients().unwrap_err().to_string();
    assert!(
        err.contains("clients.toml") && err.contains("secret"),
        "{err}"
    );
    assert!(
        server.app.clients().get("library").is_some(),
        "previous clients kept"
    );
}

#[tokio::test]
async fn an_https_issuer_makes_cookies_secure() {
    let dir = tempfile::tempdir().unwrap();
    let running = crate::common::server::start_as(
        dir.path(),
        Some("https://id.example.org"),
        &clients_toml(),
        "",
    )
    .await;
    let base = running.base;
    let response = browser().get(format!("{base}/login")).send().await.unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    let doc: serde_json::Value = browser()
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["authorization_endpoint"],
        "https://id.example.org/authorize"
    );
}
