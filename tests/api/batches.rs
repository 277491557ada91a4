//! The database runs the jobs waiting at a moment in one transaction
//! (group commit), each atomic on its own: a job that fails is undone
//! alone, and the jobs beside it in the batch are kept. On PostgreSQL a
//! job's inserts are sent with its next statement or its end, so their
//! failure comes late; it must still fail that job, and that job only.

use sesame::protocol::{ClientId, Scopes};
use sesame::store::grants::{AccessToken, active_access_token, insert_access_token};

use crate::helpers::*;
use crate::rp::post_as;

/// A client's token with the key `jti`, active until 2096.
pub fn token(jti: &str) -> AccessToken {
    AccessToken {
        jti: jti.to_owned(),
        grant_id: None,
        client_id: ClientId::parse("rp-basic").unwrap(),
        sub: None,
        scopes: Scopes::parse("openid").unwrap(),
        expires_at: 4_000_000_000,
    }
}

/// A server whose store holds the token `taken`, whose key the jobs
/// under test repeat.
async fn with_the_key_taken() -> (TestServer, sesame::store::Store) {
    let server = TestServer::start().await;
    let store = server.app.store.clone();
    store
        .run(|tx| insert_access_token(tx, &token("taken"), "first"))
        .await
        .unwrap();
    (server, store)
}

/// What `sql` counts, read where the writing jobs run (so the database
/// thread is still serving).
pub async fn count(store: &sesame::store::Store, sql: &'static str) -> i64 {
    store
        .run(move |tx| tx.query_i64(sql))
        .await
        .expect("the database thread still serves")
}

/// The database goes on serving a request that writes: a service's token.
async fn a_service_token_is_issued(server: &TestServer) {
    let (status, body) = post_as(
        server,
        "/token",
        "service",
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_job_whose_insert_fails_is_undone_alone_and_its_neighbours_are_kept() {
    let (server, store) = with_the_key_taken().await;
    // Forty jobs at once, so that they share batches; every odd one writes
    // its own token, then one whose key is taken.
    let jobs: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(move |tx| {
                        insert_access_token(tx, &token(&format!("own-{i:02}")), "own")?;
                        if i % 2 == 1 {
                            insert_access_token(tx, &token("taken"), "again")?;
                        }
                        Ok(i)
                    })
                    .await
            })
        })
        .collect();
    for (i, job) in jobs.into_iter().enumerate() {
        let answer = job.await.unwrap();
        if i % 2 == 1 {
            assert!(answer.is_err(), "job {i} repeated a key: it fails");
        } else {
            assert_eq!(answer.unwrap(), i, "job {i} is kept");
        }
    }
    let kept: Vec<String> = store
        .run(|tx| {
            let mut kept = Vec::new();
            for i in 0..40 {
                let sql = format!("SELECT COUNT(*) FROM access_tokens WHERE jti = 'own-{i:02}'");
                if tx.query_i64(&sql)? == 1 {
                    kept.push(format!("own-{i:02}"));
                }
            }
            Ok(kept)
        })
        .await
        .unwrap();
    let expected: Vec<String> = (0..40).step_by(2).map(|i| format!("own-{i:02}")).collect();
    assert_eq!(kept, expected, "only the failed jobs' writes are undone");
    let first = count(
        &store,
        "SELECT COUNT(*) FROM access_tokens WHERE jti = 'taken' AND digest = 'first'",
    )
    .await;
    assert_eq!(first, 1, "the taken key keeps its first row");
    a_service_token_is_issued(&server).await;
}

/// A job alone in its transaction whose insert fails: on PostgreSQL the
/// failure comes with the `COMMIT`, which must undo the job, answer it
/// with an error and leave the database thread serving.
#[tokio::test]
async fn a_lone_job_whose_insert_fails_at_commit_is_undone_and_the_next_is_served() {
    let (server, store) = with_the_key_taken().await;
    for attempt in 0..3 {
        let failed = store
            .run(move |tx| {
                insert_access_token(tx, &token(&format!("lone-{attempt}")), "own")?;
                insert_access_token(tx, &token("taken"), "again")
            })
            .await;
        assert!(
            failed.is_err(),
            "attempt {attempt} repeated a key: it fails"
        );
    }
    let lone = count(
        &store,
        "SELECT COUNT(*) FROM access_tokens WHERE jti LIKE 'lone-%'",
    )
    .await;
    assert_eq!(lone, 0, "the failed jobs' first inserts are undone");
    a_service_token_is_issued(&server).await;
}

/// A job that begins with a read (`Store::run_read_first_in_turn`, where
/// a hot job runs again after contention) sees what the job queued just
/// before it wrote, and nothing of it when that job's write failed. On PostgreSQL its read rides with the end of that job (its
/// writes and release), so this holds only if the read runs after them and
/// a failure there is the earlier job's alone.
#[tokio::test]
async fn a_job_reading_first_sees_the_write_before_it_or_nothing_of_a_failed_one() {
    let (server, store) = with_the_key_taken().await;
    let found = |jti: String| {
        let store = store.clone();
        async move {
            store
                .run_read_first_in_turn(move |tx| {
                    let found = active_access_token(tx, &jti, "own", 0)?.is_some();
                    insert_access_token(tx, &token(&format!("after-{jti}")), "own")?;
                    Ok(found)
                })
                .await
        }
    };
    // Once alone, so that its statement is prepared for the next rounds.
    assert!(!found("none".into()).await.unwrap());
    for i in 0..30 {
        let jti = format!("seen-{i:02}");
        let write = {
            let (store, jti) = (store.clone(), jti.clone());
            async move {
                store
                    .run(move |tx| {
                        insert_access_token(tx, &token(&jti), "own")?;
                        if i % 2 == 1 {
                            insert_access_token(tx, &token("taken"), "again")?;
                        }
                        Ok(())
                    })
                    .await
            }
        };
        // Queued in this order: the read runs after the write.
        let (written, read) = tokio::join!(write, found(jti.clone()));
        let read = read.expect("the reading job is answered");
        if i % 2 == 1 {
            assert!(written.is_err(), "{jti}: a repeated key fails");
            assert!(!read, "{jti}: the failed write is not seen");
        } else {
            assert!(written.is_ok(), "{jti}: written");
            assert!(read, "{jti}: the write before is seen");
        }
    }
    let after = count(
        &store,
        "SELECT COUNT(*) FROM access_tokens WHERE jti LIKE 'after-seen-%'",
    )
    .await;
    assert_eq!(after, 30, "every reading job's own write is kept");
    a_service_token_is_issued(&server).await;
}

/// On PostgreSQL the server's sessions commit as SQLite's default does:
/// without waiting for the WAL to reach the disk (docs/deployment.md).
#[tokio::test]
async fn on_postgresql_the_servers_sessions_commit_without_waiting_for_the_disk() {
    let server = TestServer::start().await;
    if !server.on_postgresql() {
        return;
    }
    // Set by the session itself (`client`), not by the server's own
    // configuration (the test cluster's is off too).
    const OFF: &str = "SELECT (setting = 'off' AND source = 'client')::int::bigint \
         FROM pg_settings WHERE name = 'synchronous_commit'";
    let store = &server.app.store;
    assert_eq!(
        store.run(|tx| tx.query_i64(OFF)).await.unwrap(),
        1,
        "writing"
    );
    assert_eq!(
        store.read(|tx| tx.query_i64(OFF)).await.unwrap(),
        1,
        "reading"
    );
}

/// A read the one-statement path cannot carry (here: statements it does
/// not capture) runs again where every job runs and gets its answer; on
/// PostgreSQL a read-only job that writes fails and leaves the rows as they
/// were (on SQLite `Store::read` is `Store::run`).
#[tokio::test]
async fn a_read_beyond_one_statement_is_answered_and_a_read_that_writes_is_refused() {
    let server = TestServer::start().await;
    server.add_user("kept@example.test", true).await;
    let store = server.app.store.clone();
    let (one, users) = store
        .read(|tx| {
            let one = tx.query_i64("SELECT CAST(1 AS BIGINT)")?;
            Ok((one, tx.query_i64("SELECT count(*) FROM users")?))
        })
        .await
        .expect("the read is answered");
    assert_eq!(one, 1);
    assert!(users >= 1, "{users}");
    if !server.on_postgresql() {
        return;
    }
    let wrote = store.read(|tx| tx.execute_sql("DELETE FROM users")).await;
    assert!(wrote.is_err(), "a read-only job may not write");
    let left = store
        .read(|tx| tx.query_i64("SELECT count(*) FROM users"))
        .await
        .unwrap();
    assert_eq!(left, users, "nothing was deleted");
}
