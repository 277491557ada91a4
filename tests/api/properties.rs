//! Arbitrary query strings and form bodies against the endpoints a
//! stranger can reach: whatever is sent, the answer is never a 5xx.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::*;

/// Query / form text made of OAuth's own names and values, broken up.
fn params() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("client_id"),
        Just("redirect_uri"),
        Just("response_type"),
        Just("scope"),
        Just("state"),
        Just("grant_type"),
        Just("code"),
        Just("code_verifier"),
        Just("claims"),
        Just("id_token_hint"),
        Just("prompt"),
        Just("max_age"),
        Just("access_token"),
        Just("interaction"),
        Just("csrf"),
        Just("email"),
        Just("password"),
    ];
    let value = prop_oneof![
        Just("rp-basic".to_owned()),
        Just("http%3A%2F%2F127.0.0.1%3A9%2Fcb".to_owned()),
        Just("code".to_owned()),
        Just("openid".to_owned()),
        Just("authorization_code".to_owned()),
        Just("%7B%22userinfo%22%3A".to_owned()),
        "[A-Za-z0-9%._~-]{0,40}",
        "\\PC{0,20}",
    ];
    proptest::collection::vec((name, value), 0..8).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[test]
fn arbitrary_parameters_never_get_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    let http = rp_http();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let endpoints = prop_oneof![
        Just(("GET", "/authorize")),
        Just(("POST", "/authorize")),
        Just(("POST", "/token")),
        Just(("GET", "/userinfo")),
        Just(("POST", "/userinfo")),
        Just(("GET", "/login")),
        Just(("POST", "/login")),
    ];
    runner
        .run(&(endpoints, params()), |((method, path), text)| {
            let status = runtime.block_on(async {
                let request = if method == "GET" {
                    http.get(server.url(&format!("{path}?{text}")))
                } else {
                    http.post(server.url(path))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(text.clone())
                };
                request.send().await.unwrap().status()
            });
            prop_assert!(
                !status.is_server_error(),
                "{method} {path} {text:?} → {status}"
            );
            Ok(())
        })
        .unwrap();
}
