//! Housekeeping purges expired rows in small batches while requests are
//! served: a large purge never holds the database for its whole length.

use crate::helpers::*;
use sesame::housekeeping::{Housekeeping, run_once};

/// Fifty thousand access tokens made in 1970, long expired.
const OLD_TOKENS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) \
     INSERT INTO access_tokens (jti, digest, client_id, scopes, expires_at) \
     SELECT printf('%013x%016d', (1000 + i) * 1000000, i), 'd', 'rp-basic', 'openid', 1600 + i FROM n";

/// The same tokens, in PostgreSQL's dialect.
const OLD_TOKENS_PG: &str = "INSERT INTO access_tokens (jti, digest, client_id, scopes, expires_at) \
     SELECT lpad(to_hex((1000 + i) * 1000000::bigint), 13, '0') || lpad(i::text, 16, '0'), \
     'd', 'rp-basic', 'openid', 1600 + i FROM generate_series(1, 50000) AS i";

#[tokio::test]
async fn requests_are_answered_while_a_large_purge_runs() {
    let server = TestServer::start().await;
    let (_, tokens) = signed_in(&server, "purge@example.test").await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    let store = server.app.store.clone();
    let old_tokens = match server.app.config.database {
        sesame::store::Database::Postgres(_) => OLD_TOKENS_PG,
        sesame::store::Database::Sqlite(_) => OLD_TOKENS,
    };
    let inserted = store.run(|tx| tx.execute_sql(old_tokens)).await.unwrap();
    assert_eq!(inserted, 50_000);

    let settings = Housekeeping::of(&server.app.config);
    let purge = tokio::spawn(async move { run_once(&store, &settings, sesame::app::now()).await });
    let http = rp_http();
    let mut answered_meanwhile = 0;
    while !purge.is_finished() {
        let status = http
            .get(server.url("/userinfo"))
            .bearer_auth(&at)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        answered_meanwhile += 1;
    }
    purge.await.unwrap();
    // One job over the whole table would have let one request through at
    // most; fifty batches let many through.
    assert!(
        answered_meanwhile >= 5,
        "{answered_meanwhile} answers during the purge"
    );
    let left = server
        .app
        .store
        .run(|tx| tx.query_i64("SELECT COUNT(*) FROM access_tokens WHERE expires_at < 100000"))
        .await
        .unwrap();
    assert_eq!(left, 0, "every expired token removed");
    let after = http
        .get(server.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200, "the live token kept");
}
