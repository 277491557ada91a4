//! Disabling and deleting on a real database with the migrations applied.

use std::path::Path;

use super::*;
use crate::store::audit::{Filter, list};
use crate::store::sessions::{self, Session};
use crate::store::users::User;

fn clients() -> Clients {
    Clients::parse(
        "[[client]]\nid = \"a\"\nsecret = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nredirect_uris = [\"https://a/cb\"]\n",
        Path::new("clients.toml"),
    )
    .unwrap()
}

fn alice(tx: &Tx<'_>) {
    let user = User {
        sub: "alice".into(),
        email: "alice@example.test".into(),
        email_verified: true,
        ..User::default()
    };
    users::insert(tx, &user).unwrap();
    let session = Session {
        sid: "sid1".into(),
        sub: "alice".into(),
        auth_time: 0,
        amr: vec!["pwd".into()],
        acr: None,
        idle_expires_at: i64::MAX,
        expires_at: i64::MAX,
    };
    sessions::insert(tx, "digest", &session, 0).unwrap();
}

#[test]
fn disabling_ends_the_sessions_and_enabling_keeps_the_account() {
    let db = crate::store::memory();
    let tx = db.tx();
    alice(&tx);
    let ended = disable(&tx, &clients(), "alice", &Origin::default(), 10).unwrap();
    assert_eq!(ended.unwrap().sessions, 1);
    assert!(sessions::live(&tx, "digest", 11).unwrap().is_none());
    let user = users::by_sub(&tx, "alice").unwrap().unwrap();
    assert_eq!(user.disabled_at, Some(10));
    assert!(enable(&tx, "alice", &Origin::default(), 20).unwrap());
    let user = users::by_sub(&tx, "alice").unwrap().unwrap();
    assert_eq!(user.disabled_at, None);
    assert!(
        disable(&tx, &clients(), "nobody", &Origin::default(), 30)
            .unwrap()
            .is_none()
    );
    let admin = list(&tx, &Filter::default()).unwrap();
    let details: Vec<_> = admin.iter().filter_map(|e| e.detail.as_deref()).collect();
    assert_eq!(details, ["user enable", "user disable"]);
}

#[test]
fn deletion_frees_the_address_and_retires_the_sub() {
    let db = crate::store::memory();
    let tx = db.tx();
    alice(&tx);
    let deleted = delete_account(
        &tx,
        &clients(),
        "alice",
        DeletedBy::Staff,
        &Origin::default(),
        10,
    )
    .unwrap();
    assert_eq!(deleted.unwrap().sessions, 1);
    assert!(users::by_sub(&tx, "alice").unwrap().is_none());
    let again = User {
        sub: "alice".into(),
        email: "other@example.test".into(),
        ..User::default()
    };
    assert!(
        users::insert(&tx, &again).is_err(),
        "the sub is never reused"
    );
    let newcomer = User {
        sub: "alice-2".into(),
        email: "alice@example.test".into(),
        ..User::default()
    };
    users::insert(&tx, &newcomer).unwrap();
    let events = list(&tx, &Filter::default()).unwrap();
    assert_eq!(events[0].kind, "account.deleted");
    assert_eq!(events[0].sub.as_deref(), Some("alice"));
}
