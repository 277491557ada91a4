//! The portal's back-channel logout receiver (Back-Channel Logout 1.0
//! §2.6), fed logout tokens signed with Sésame's own keys, and the same
//! delivered by Sésame itself once it sends them.

use serde_json::{Value, json};
use sesame::config::SigningAlg;

use crate::harness::*;
use crate::portal;

fn claims(servers: &Servers, sub: &str) -> Value {
    let now = servers.state.now();
    json!({
        "iss": servers.sesame,
        "aud": "portail-citoyen",
        "iat": now,
        "exp": now + 120,
        "jti": portal::session::random_token(),
        "sub": sub,
        "events": { portal::backchannel::EVENT: {} },
    })
}

fn sign(servers: &Servers, claims: &Value) -> String {
    servers
        .app
        .keys
        .sign(
            SigningAlg::Rs256,
            "logout+jwt",
            claims.to_string().as_bytes(),
        )
        .unwrap()
}

async fn deliver(servers: &Servers, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(servers.portal("/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn signed_in(servers: &Servers, browser: &reqwest::Client) -> bool {
    let r = browser
        .get(servers.portal("/mon-compte"))
        .send()
        .await
        .unwrap();
    r.status() == 200
}

#[tokio::test]
async fn a_valid_logout_token_ends_the_portal_sessions_and_bad_ones_are_refused() {
    let servers = Servers::start().await;
    let (browser, sub) = signed_in_linked(&servers, "bcl@example.test").await;
    assert!(signed_in(&servers, &browser).await);

    let good = claims(&servers, &sub);
    let mut bad: Vec<(&str, String)> = Vec::new();
    let mut with = |what: &'static str, edit: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        edit(&mut c);
        bad.push((what, sign(&servers, &c)));
    };
    with("other audience", &|c| c["aud"] = json!("bibliotheque"));
    with("other issuer", &|c| c["iss"] = json!("http://evil.example"));
    with("expired", &|c| c["exp"] = json!(1));
    with("issued in the future", &|c| {
        c["iat"] = json!(c["iat"].as_i64().unwrap() + 3600)
    });
    with("no sub nor sid", &|c| {
        c.as_object_mut().unwrap().remove("sub");
    });
    with("no events", &|c| {
        c.as_object_mut().unwrap().remove("events");
    });
    with("an ID token's nonce", &|c| c["nonce"] = json!("n"));
    with("no jti", &|c| {
        c.as_object_mut().unwrap().remove("jti");
    });
    let valid = sign(&servers, &good);
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    // Another first character (the signature may start with 'A' already).
    let other = if parts[2].starts_with('A') { 'B' } else { 'A' };
    parts[2] = format!("{other}{}", &parts[2][1..]);
    bad.push(("bad signature", parts.join(".")));
    // alg none, and an HMAC token keyed with the public key's text.
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    bad.push((
        "alg none",
        format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good)),
    ));
    bad.push((
        "alg HS256",
        format!("{}.{}.c2ln", b64(&json!({"alg": "HS256"})), b64(&good)),
    ));
    bad.push(("encrypted", "a.b.c.d.e".into()));
    bad.push(("garbage", "not a jwt".into()));
    bad.push((
        "typ at+jwt",
        servers
            .app
            .keys
            .sign(SigningAlg::Rs256, "at+jwt", good.to_string().as_bytes())
            .unwrap(),
    ));

    for (what, token) in &bad {
        let (status, body) = deliver(&servers, token).await;
        assert_eq!(status, 400, "{what} refused");
        assert_eq!(body["error"], "invalid_request", "{what}");
        assert!(signed_in(&servers, &browser).await, "{what}: session kept");
    }
    let r = reqwest::Client::new()
        .post(servers.portal("/backchannel-logout"))
        .body("nothing")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no form");

    let (status, _) = deliver(&servers, &valid).await;
    assert_eq!(status, 200);
    assert!(
        !signed_in(&servers, &browser).await,
        "the portal session ended"
    );
    let (status, body) = deliver(&servers, &valid).await;
    assert_eq!(status, 400, "a replayed jti is refused");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn a_logout_token_with_sid_ends_only_that_session() {
    let servers = Servers::start().await;
    let email = "sid@example.test";
    let (first, sub) = signed_in_linked(&servers, email).await;
    // A second browser: another Sésame session, so another sid.
    let second = browser();
    let back = sign_in(&servers, &second, email, Consent::Accept).await;
    assert_eq!(location(&back), "/mon-compte");
    let sub2 = sub.clone();
    let sids: Vec<String> = servers
        .state
        .db
        .run(move |c| {
            let mut s = c.prepare("SELECT sid FROM sessions WHERE sub = ?1 ORDER BY rowid")?;
            s.query_map([&sub2], |r| r.get(0))?.collect()
        })
        .await
        .unwrap();
    assert_eq!(sids.len(), 2, "two sessions, each with the ID token's sid");
    assert_ne!(sids[0], sids[1]);

    let mut c = claims(&servers, &sub);
    c["sid"] = json!(sids[1]);
    let (status, _) = deliver(&servers, &sign(&servers, &c)).await;
    assert_eq!(status, 200);
    assert!(signed_in(&servers, &first).await, "the other session stays");
    assert!(!signed_in(&servers, &second).await, "that session ended");
}

/// Sésame's own back-channel logout reaches the portal.
#[tokio::test]
async fn sesame_logout_reaches_the_portal_by_the_back_channel() {
    let servers = Servers::start().await;
    let (browser, _) = signed_in_linked(&servers, "sesame-bcl@example.test").await;
    assert!(signed_in(&servers, &browser).await);
    // The citizen signs out at Sésame directly (not through the portal).
    let discovery: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        servers.sesame
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(discovery["backchannel_logout_supported"], true);
    let end_session = discovery["end_session_endpoint"].as_str().unwrap();
    // Without an id_token_hint, Sésame asks the citizen to confirm.
    let page = browser.get(end_session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Se déconnecter"), "{html}");
    let confirmed = browser
        .post(end_session)
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("decision", "logout".into()),
        ])
        .send()
        .await
        .unwrap();
    assert!(confirmed.status().is_success() || confirmed.status().is_redirection());
    for _ in 0..50 {
        if !signed_in(&servers, &browser).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the portal session survived Sésame's logout");
}
