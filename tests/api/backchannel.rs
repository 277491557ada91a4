//! Back-Channel Logout 1.0: after a logout, every service that obtained
//! tokens in the session and set `backchannel_logout_uri` receives a
//! signed logout token (checked here against the JWKS with josekit), and a
//! service that first answers 500 receives it again from the queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Router};
use josekit::jws::RS256;

use crate::helpers::*;
use crate::rp::*;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What the test relying parties received: (client, logout_token, status).
pub(crate) type Inbox = Arc<Mutex<Vec<(String, String, u16)>>>;

/// An HTTP listener standing for the relying parties' back-channel
/// endpoints: `POST /bc/{client}`; `rp-basic` answers 500 the first time.
pub(crate) async fn relying_parties() -> (String, Inbox) {
    async fn receive(
        State(inbox): State<Inbox>,
        Path(client): Path<String>,
        Form(form): Form<HashMap<String, String>>,
    ) -> StatusCode {
        let mut inbox = inbox.lock().unwrap();
        let first = !inbox.iter().any(|(c, _, _)| *c == client);
        let status = if client == "rp-basic" && first {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        let token = form.get("logout_token").cloned().unwrap_or_default();
        inbox.push((client, token, status.as_u16()));
        status
    }
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/bc/{client}", post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, inbox)
}

/// Declares back-channel URIs for rp-basic and spa (not rp-post) and
/// reloads clients.toml, as SIGHUP would.
pub(crate) fn declare_backchannel(server: &TestServer, base: &str) {
    let toml = clients_toml()
        .replace(
            "id = \"rp-basic\"\n",
            &format!("id = \"rp-basic\"\nbackchannel_logout_uri = \"{base}/bc/rp-basic\"\n"),
        )
        .replace(
            "id = \"spa\"\n",
            &format!("id = \"spa\"\nbackchannel_logout_uri = \"{base}/bc/spa\"\n"),
        );
    std::fs::write(server.dir.path().join("clients.toml"), toml).unwrap();
    server.app.reload_clients().unwrap();
}

/// Verifies a logout token's signature against the published JWKS and
/// returns its header and claims.
pub(crate) async fn verified(
    server: &TestServer,
    token: &str,
) -> (serde_json::Value, serde_json::Value) {
    let header = {
        use base64::Engine;
        let part = token.split('.').next().unwrap();
        serde_json::from_slice::<serde_json::Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let jwks = jwks(server).await;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is published");
    let jwk = josekit::jwk::Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
    let verifier = RS256.verifier_from_jwk(&jwk).unwrap();
    let (payload, _) = josekit::jws::deserialize_compact(token, &verifier).expect("signature");
    (header, serde_json::from_slice(&payload).unwrap())
}

pub(crate) async fn wait_for(inbox: &Inbox, done: impl Fn(&[(String, String, u16)]) -> bool) {
    for _ in 0..150 {
        if done(&inbox.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not delivered in time: {:?}", inbox.lock().unwrap());
}

#[tokio::test]
async fn logout_tokens_reach_every_service_of_the_session_with_a_retry() {
    let server = TestServer::start().await;
    let (base, inbox) = relying_parties().await;
    declare_backchannel(&server, &base);
    server.add_user("backchannel@example.test", true).await;
    let browser = browser();
    let email = "backchannel@example.test";
    let basic = code_flow(
        &server,
        &browser,
        &rp(&server, "rp-basic", Some(BASIC_SECRET)).await,
        &["email"],
        email,
    )
    .await;
    code_flow(
        &server,
        &browser,
        &rp(&server, "spa", None).await,
        &["email"],
        email,
    )
    .await;
    code_flow(
        &server,
        &browser,
        &rp(&server, "rp-post", Some(POST_SECRET)).await,
        &["email"],
        email,
    )
    .await;

    let hint = basic.id_token.to_string();
    let response = browser
        .get(server.url(&format!("/logout?id_token_hint={hint}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "signed out");

    wait_for(&inbox, |got| {
        got.iter().any(|(c, _, s)| c == "rp-basic" && *s == 200)
            && got.iter().any(|(c, _, s)| c == "spa" && *s == 200)
    })
    .await;
    let got = inbox.lock().unwrap().clone();
    let to = |client: &str| -> Vec<(String, u16)> {
        got.iter()
            .filter(|(c, _, _)| c == client)
            .map(|(_, t, s)| (t.clone(), *s))
            .collect()
    };
    let basic_calls = to("rp-basic");
    assert_eq!(
        basic_calls.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [500, 200],
        "retried after the 500"
    );
    assert_eq!(to("spa").len(), 1);
    assert!(to("rp-post").is_empty(), "rp-post has no back-channel URI");

    let mut jtis = Vec::new();
    for (client, token) in [
        ("rp-basic", &basic_calls[0].0),
        ("rp-basic", &basic_calls[1].0),
        ("spa", &to("spa")[0].0),
    ] {
        let (header, claims) = verified(&server, token).await;
        assert_eq!(header["typ"], "logout+jwt");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(claims["iss"], server.base);
        assert_eq!(claims["aud"], client);
        assert_eq!(claims["sub"], basic.sub.as_str());
        assert_eq!(claims["sid"], basic.sid.as_str());
        assert_eq!(claims["events"], serde_json::json!({ EVENT: {} }));
        assert!(claims.get("nonce").is_none());
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!(exp > iat);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    assert_eq!(jtis[0], jtis[1], "a retry is the same logout");
    assert_ne!(jtis[0], jtis[2], "each service has its own");

    let left = server
        .app
        .store
        .run(sesame::store::backchannel::next_due)
        .await
        .unwrap();
    assert_eq!(left, None, "the queue is empty once delivered");
}

#[tokio::test]
async fn no_logout_token_for_services_that_were_not_used_in_the_session() {
    let server = TestServer::start().await;
    let (base, inbox) = relying_parties().await;
    declare_backchannel(&server, &base);
    let (browser, _) = signed_in(&server, "only-basic@example.test").await;
    let html = text_of(&browser, server.url("/logout")).await;
    browser
        .post(server.url("/logout"))
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("decision", "logout"),
        ])
        .send()
        .await
        .unwrap();
    wait_for(&inbox, |got| got.iter().any(|(_, _, s)| *s == 200)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let clients: Vec<String> = inbox
        .lock()
        .unwrap()
        .iter()
        .map(|(c, _, _)| c.clone())
        .collect();
    assert!(clients.iter().all(|c| c == "rp-basic"), "{clients:?}");
}
