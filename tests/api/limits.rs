//! Caps on what an unauthenticated visitor can make Sésame store: every
//! authorization parameter, and the pending request as a whole.

use crate::helpers::*;

const START: &str = "/authorize?client_id=rp-basic&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb";

/// Where `/authorize` sends the browser for `extra` parameters.
async fn authorize(server: &TestServer, extra: &str) -> String {
    let response = rp_http()
        .get(server.url(&format!("{START}{extra}")))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    location(&response)
}

#[tokio::test]
async fn oversized_parameters_and_requests_are_refused_before_anything_is_stored() {
    let server = TestServer::start().await;
    // Within the caps: the login page, a pending request stored.
    assert!(authorize(&server, "&state=ok").await.starts_with("/login"));
    let cases = [
        // `state` over the 8 KiB every parameter is held to.
        format!("&state={}", "s".repeat(9000)),
        // A parameter Sésame does not even read.
        format!("&state=ok&padding={}", "p".repeat(9000)),
        // A long name.
        format!("&state=ok&{}=1", "n".repeat(200)),
        // Each part within the cap, the whole too large to keep.
        format!(
            "&state={}&claims=%7B%22userinfo%22%3A%7B%22email%22%3Anull%7D%7D{}",
            "s".repeat(8000),
            "%20".repeat(7000)
        ),
    ];
    for extra in &cases {
        let to = authorize(&server, extra).await;
        assert!(to.starts_with(REDIRECT), "{}", &to[..to.len().min(80)]);
        let answer = query(&to);
        assert_eq!(answer["error"], "invalid_request", "{answer:?}");
        assert!(
            answer.get("state").is_none_or(|s| s.len() <= 8 * 1024),
            "an oversized state is not echoed"
        );
    }
}
