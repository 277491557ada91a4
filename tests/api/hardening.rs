//! Response headers that protect citizens' pages: nothing with a form or
//! personal data is stored by a cache, and https is pinned when the issuer
//! uses it.

use crate::helpers::*;

#[tokio::test]
async fn pages_are_never_stored_and_hsts_follows_the_issuer() {
    let server = TestServer::start().await;
    let http = rp_http();
    for path in [
        "/login?interaction=x",
        "/signup",
        "/password/forgot",
        "/",
        "/nowhere",
    ] {
        let page = http.get(server.url(path)).send().await.unwrap();
        let kind = page.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert_eq!(
            page.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}"
        );
        assert!(page.headers().get("strict-transport-security").is_none());
    }
    // Behind a TLS reverse proxy: the issuer is https, so is every answer.
    let dir = tempfile::tempdir().unwrap();
    let running = crate::common::server::start_as(
        dir.path(),
        Some("https://ville.example"),
        &clients_toml(),
        "",
    )
    .await;
    let answer = http
        .get(format!("{}/.well-known/openid-configuration", running.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}
