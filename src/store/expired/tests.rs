//! The batched purge removes exactly the expired rows, over many batches,
//! and leaves every live one.

use std::collections::BTreeSet;

use rusqlite::params;

use super::*;
use crate::store::Db;

/// A time-ordered key made at `at` seconds (plus `n` µs), as
/// `secrets::ordered_id` makes them.
fn key(at: i64, n: i64) -> String {
    format!("{:013x}AAAAAAAAAAAAAAAA", at * 1_000_000 + n)
}

fn keys(db: &Db, sql: &str) -> BTreeSet<String> {
    db.sql()
        .prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The citizen `u`, whom the rows below belong to.
fn citizen(db: &Db) {
    db.sql()
        .execute(
            "INSERT INTO users (sub, email, password_hash, created_at, updated_at) \
             VALUES ('u', 'u@x', 'h', 0, 0)",
            [],
        )
        .unwrap();
}

/// Runs batches from `start` until the walk is over; returns the rows
/// removed and the number of batches.
fn walk<K>(start: K, mut step: impl FnMut(K) -> Batch<K>) -> (usize, usize) {
    let (mut removed, mut batches, mut from) = (0, 0, start);
    loop {
        let batch = step(from);
        removed += batch.removed;
        batches += 1;
        match batch.next {
            Some(next) => from = next,
            None => return (removed, batches),
        }
    }
}

#[test]
fn access_tokens_expired_go_and_live_ones_stay_across_batches() {
    let db = crate::store::memory();
    // 300 tokens made one a second from t = 1000; every third lives an
    // hour, the others a minute. Some made after the cut-off, too.
    let mut live = BTreeSet::new();
    for i in 0..300 {
        let made = 1_000 + i;
        let expires = made + if i % 3 == 0 { 3_600 } else { 60 };
        let jti = key(made, i);
        db.sql()
            .execute(
                "INSERT INTO access_tokens (jti, digest, client_id, scopes, expires_at) \
                 VALUES (?1, 'd', 'c', 'openid', ?2)",
                params![jti, expires],
            )
            .unwrap();
        if expires > 1_200 {
            live.insert(jti);
        }
    }
    let (removed, batches) = walk(String::new(), |from| {
        access_tokens(&db.tx(), &from, 1_200, 7).unwrap()
    });
    assert_eq!(removed, 300 - live.len());
    assert!(batches > 10, "{batches} batches");
    assert_eq!(keys(&db, "SELECT jti FROM access_tokens"), live);
    // Nothing left to remove: a second pass removes nothing.
    let (again, _) = walk(String::new(), |from| {
        access_tokens(&db.tx(), &from, 1_200, 7).unwrap()
    });
    assert_eq!(again, 0);
}

#[test]
fn the_walk_stops_at_the_cut_off_key() {
    let db = crate::store::memory();
    citizen(&db);
    for i in 0..50 {
        db.sql()
            .execute(
                "INSERT INTO auth_codes (id, digest, client_id, sub, redirect_uri, scopes, sid, \
                 auth_time, amr, expires_at) VALUES (?1, 'd', 'c', 'u', 'r', 'openid', 's', 0, 'pwd', ?2)",
                params![key(2_000 + i, 0), 2_000 + i + 60],
            )
            .unwrap();
    }
    // Made at or after 2 030 s: never read, whatever the limit.
    let batch = codes(&db.tx(), "", 2_030, 1_000).unwrap();
    assert_eq!(
        batch,
        Batch {
            removed: 0,
            next: None
        }
    );
    let (removed, _) = walk(String::new(), |from| {
        codes(&db.tx(), &from, 2_080, 4).unwrap()
    });
    assert_eq!(
        removed, 21,
        "codes made from 2 000 to 2 020 s expired by 2 080 s"
    );
}

#[test]
fn sessions_and_pending_requests_expired_go_across_batches() {
    let db = crate::store::memory();
    citizen(&db);
    let mut live = BTreeSet::new();
    for i in 0..120_i64 {
        // Idle ends spread around 500; the absolute end past it for most.
        let (idle, absolute) = (440 + i, if i % 10 == 0 { 450 } else { 900 });
        let digest = format!("s{i:03}");
        db.sql()
            .execute(
                "INSERT INTO sessions (digest, sid, sub, auth_time, amr, created_at, \
                 idle_expires_at, expires_at) VALUES (?1, ?1, 'u', 0, 'pwd', 0, ?2, ?3)",
                params![digest, idle, absolute],
            )
            .unwrap();
        db.sql()
            .execute(
                "INSERT INTO interactions (id, request, expires_at) VALUES (?1, '{}', ?2)",
                params![digest, idle],
            )
            .unwrap();
        if idle > 500 && absolute > 500 {
            live.insert(digest);
        }
    }
    let (removed, batches) = walk(0, |from| sessions(&db.tx(), from, 500, 9).unwrap());
    assert_eq!(removed, 120 - live.len());
    assert!(batches > 10, "{batches} batches");
    assert_eq!(keys(&db, "SELECT digest FROM sessions"), live);
    let (removed, _) = walk(0, |from| interactions(&db.tx(), from, 500, 9).unwrap());
    assert_eq!(
        removed, 61,
        "pending requests whose end is at or before 500"
    );
    assert_eq!(keys(&db, "SELECT id FROM interactions").len(), 59);
}

#[test]
fn ended_grants_go_by_the_index_with_their_tokens() {
    let db = crate::store::memory();
    citizen(&db);
    for i in 0..40_i64 {
        // Even: a family ending at 1 000 + i; odd: no family, made at i;
        // every fifth revoked at 10.
        let (expires, revoked) = (
            (i % 2 == 0).then_some(1_000 + i),
            (i % 5 == 0).then_some(10),
        );
        let id = key(i, 0);
        db.sql()
            .execute(
                "INSERT INTO grants (id, sub, client_id, scopes, created_at, expires_at, revoked_at) \
                 VALUES (?1, 'u', 'c', 'openid', ?2, ?3, ?4)",
                params![id, i, expires, revoked],
            )
            .unwrap();
        db.sql()
            .execute(
                "INSERT INTO refresh_tokens (digest, grant_id, created_at, expires_at) \
                 VALUES (?1, ?1, 0, 9999)",
                [&id],
            )
            .unwrap();
    }
    let plan: String = db
        .sql()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM grants \
             WHERE COALESCE(revoked_at, expires_at, created_at) <= 5 LIMIT 3",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("grants_end"), "{plan}");
    // Ended by 500: the 20 odd ones and the 4 revoked even ones.
    let (removed, batches) = walk((), |()| grants(&db.tx(), 500, 3).unwrap());
    assert_eq!((removed, batches), (24, 9));
    let left: i64 = db
        .sql()
        .query_row("SELECT COUNT(*) FROM refresh_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 16, "each grant's refresh tokens went with it");
}
