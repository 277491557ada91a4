//! Hostile input: every malformed request gets a 4xx in the right format,
//! never a 5xx.

use crate::helpers::*;

#[tokio::test]
async fn malformed_requests_get_4xx() {
    let server = TestServer::start().await;
    let http = rp_http();
    let huge = "x".repeat(20_000);
    let pages = [
        format!("/authorize?client_id={huge}"),
        "/authorize?client_id=%zz&redirect_uri=%".to_owned(),
        "/authorize?client_id=rp-basic%ff&redirect_uri=%ff%fe".to_owned(),
        "/login?interaction=%00%ff".to_owned(),
        "/consent?interaction=nope".to_owned(),
        "/nowhere".to_owned(),
    ];
    for path in &pages {
        let response = http.get(server.url(path)).send().await.unwrap();
        let status = response.status();
        assert!(
            status.is_client_error(),
            "{} → {status}",
            &path[..path.len().min(60)]
        );
    }
    let token_cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/json",
            br#"{"grant_type":"authorization_code"}"#.to_vec(),
        ),
        ("application/x-www-form-urlencoded", b"code=x".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=authorization_code&grant_type=refresh_token".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"grant_type=%ff%fe&code=%zz".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            vec![0xff, 0xfe, b'=', 0x80],
        ),
        (
            "application/x-www-form-urlencoded",
            format!("grant_type=authorization_code&code={huge}").into_bytes(),
        ),
        ("text/plain", b"hello".to_vec()),
    ];
    for (content_type, body) in token_cases {
        let response = http
            .post(server.url("/token"))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_client_error(),
            "token {content_type} {:?} → {status}",
            String::from_utf8_lossy(&body[..body.len().min(60)])
        );
        let json: serde_json::Value = response.json().await.expect("a JSON error");
        assert!(json["error"].is_string());
    }
    for path in ["/token", "/revoke", "/introspect"] {
        let too_big = http
            .post(server.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'a'; 200_000])
            .send()
            .await
            .unwrap();
        assert!(too_big.status().is_client_error(), "{path}");
        // An OAuth client library reads the error only if it is OAuth's JSON.
        let error: serde_json::Value = too_big.json().await.expect("a JSON error");
        assert_eq!(error["error"], "invalid_request", "{path}");
    }
    for body in [
        vec![0xff, 0x00],
        b"csrf=&email=%zz&password=".to_vec(),
        vec![b'='; 1000],
    ] {
        for path in ["/login", "/consent", "/authorize", "/userinfo"] {
            let response = http
                .post(server.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "{path} → {}",
                response.status()
            );
        }
    }
    let bad_auth = http
        .get(server.url("/userinfo"))
        .header("authorization", "Bearer")
        .send()
        .await
        .unwrap();
    assert!(bad_auth.status().is_client_error());
    let weird = http
        .get(server.url("/userinfo"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert!(weird.status().is_client_error());
}
