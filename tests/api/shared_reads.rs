//! Reads of one statement asked at the same moment share one execution on
//! PostgreSQL (`store/shared_reads.rs`): each must still get its own rows,
//! and a read the database refuses must fail alone.

use sesame::store::grants::{active_access_token, insert_access_token};

use crate::batches::token;
use crate::helpers::*;
use crate::rp::{active, post_as};

/// Citizens' services asking userinfo and introspection all at once each
/// see their own citizen, and a revoked token is refused among them.
#[tokio::test]
async fn citizens_asked_for_at_once_are_each_answered_with_their_own_claims() {
    let server = TestServer::start().await;
    let mut tokens = Vec::new();
    for i in 0..4 {
        let email = format!("at-once-{i}@example.test");
        let (_, answer) = signed_in(&server, &email).await;
        let token = answer["access_token"].as_str().unwrap().to_owned();
        tokens.push((email, token));
    }
    let revoked = tokens[3].1.clone();
    let (status, body) = post_as(&server, "/revoke", "rp-basic", &[("token", &revoked)]).await;
    assert_eq!(status, 200, "{body}");

    let asks: Vec<_> = (0..48)
        .map(|i| {
            let (email, token) = tokens[i % tokens.len()].clone();
            let url = server.url("/userinfo");
            tokio::spawn(async move {
                let response = rp_http().get(url).bearer_auth(&token).send().await.unwrap();
                let status = response.status().as_u16();
                let claims: serde_json::Value = response.json().await.unwrap_or_default();
                (email, status, claims)
            })
        })
        .collect();
    for ask in asks {
        let (email, status, claims) = ask.await.unwrap();
        if email == tokens[3].0 {
            assert_eq!(status, 401, "{email}'s token is revoked: {claims}");
        } else {
            assert_eq!(status, 200, "{email}: {claims}");
            assert_eq!(
                claims["email"],
                email.as_str(),
                "{email} sees their own claims"
            );
        }
    }

    let server = std::sync::Arc::new(server);
    let asks: Vec<_> = (0..32)
        .map(|i| {
            let (email, token) = tokens[i % tokens.len()].clone();
            let server = server.clone();
            tokio::spawn(async move { (email, active(&server, "rp-basic", &token).await) })
        })
        .collect();
    for ask in asks {
        let (email, active) = ask.await.unwrap();
        assert_eq!(
            active,
            email != tokens[3].0,
            "{email}'s token at introspection"
        );
    }
}

/// A read whose parameter the database refuses (PostgreSQL takes no NUL in
/// a text) fails, and the reads sent at the same moment are answered as if
/// each had been sent alone; on SQLite it is simply not found.
#[tokio::test]
async fn a_read_the_database_refuses_fails_alone_among_reads_sent_together() {
    let server = TestServer::start().await;
    let store = server.app.store.clone();
    let now = sesame::app::now();
    for i in 0..40 {
        let token = token(&format!("shared-{i:02}"));
        store
            .run(move |tx| insert_access_token(tx, &token, &format!("digest-{i:02}")))
            .await
            .unwrap();
    }
    let read = |jti: String, digest: String| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .read(move |tx| active_access_token(tx, &jti, &digest, now))
                .await
                .map(|found| found.map(|(token, _)| token.jti))
        })
    };
    // Once alone, so that its statement is prepared and the rest share it.
    let first = read("shared-00".into(), "digest-00".into()).await.unwrap();
    assert_eq!(first.unwrap().as_deref(), Some("shared-00"));

    // Once all well, once with the refused read among them.
    for refused in [None, Some(30)] {
        let reads: Vec<_> = (0..60)
            .map(|i| match i {
                _ if Some(i) == refused => read("shared-\0".into(), "digest-30".into()),
                // Every third with a wrong digest; beyond 40, unknown tokens.
                _ if i % 3 == 2 => read(format!("shared-{i:02}"), "wrong".into()),
                _ => read(format!("shared-{i:02}"), format!("digest-{i:02}")),
            })
            .collect();
        for (i, read) in reads.into_iter().enumerate() {
            let answer = read.await.unwrap();
            if Some(i) == refused {
                match server.on_postgresql() {
                    true => assert!(answer.is_err(), "PostgreSQL refuses a NUL"),
                    false => assert_eq!(answer.unwrap(), None),
                }
                continue;
            }
            let expected = (i < 40 && i % 3 != 2).then(|| format!("shared-{i:02}"));
            assert_eq!(answer.unwrap(), expected, "read {i} (refused: {refused:?})");
        }
    }
}
