//! The life of tokens after the code, with a real SQLite and the clock
//! passed in: refresh rotation and lifetimes (RFC 6749 §6, RFC 9700
//! §4.14), revocation (RFC 7009), introspection (RFC 7662), and what ending
//! a session does (RP-Initiated and Back-Channel Logout 1.0).

use crate::store::Db;
use std::path::Path;

use crate::store::Tx;

use super::ErrorCode;
use super::grants::{self, CodeRedemption, Issued};
use super::introspection::introspect;
use super::logout::end_session;
use super::revocation::revoke;
use super::tokens::{AccessClaims, Presented, PresentedAccess};
use crate::config::{Client, Clients, TokenConfig};
use crate::protocol::Scopes;
use crate::secrets;
use crate::store::grants::{self as store, Code};
use crate::store::sessions::{self, Session};
use crate::store::users::{self, User};

const HASH: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const ISS: &str = "https://id.example";

fn clients() -> Clients {
    Clients::parse(
        &format!(
            r#"
[[client]]
id = "a"
secret = "{HASH}"
redirect_uris = ["https://a/cb"]
scopes = ["openid", "email", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
backchannel_logout_uri = "https://a/logout"
[[client]]
id = "b"
secret = "{HASH}"
redirect_uris = ["https://b/cb"]
scopes = ["openid", "email", "offline_access"]
grant_types = ["authorization_code"]
"#
        ),
        Path::new("clients.toml"),
    )
    .unwrap()
}

fn cfg() -> TokenConfig {
    TokenConfig {
        access_token_ttl: 600,
        id_token_ttl: 3600,
        access_token_alg: crate::config::SigningAlg::Es256,
        refresh_idle_ttl: 1000,
        refresh_absolute_ttl: 5000,
        code_ttl: 60,
        interaction_ttl: 3600,
        jwks_max_age: 300,
    }
}

fn setup() -> (Db, Clients) {
    let conn = crate::store::memory();
    users::insert(
        &conn.tx(),
        &User {
            sub: "alice".into(),
            email: "alice@example.test".into(),
            ..User::default()
        },
    )
    .unwrap();
    let session = Session {
        sid: "sid1".into(),
        sub: "alice".into(),
        auth_time: 0,
        amr: vec!["pwd".into()],
        acr: None,
        idle_expires_at: i64::MAX,
        expires_at: i64::MAX,
    };
    sessions::insert(&conn.tx(), "cookie-digest", &session, 0).unwrap();
    (conn, clients())
}

/// Redeems a fresh code of session `sid1` for `client` with `scopes`.
fn tokens(conn: &Tx<'_>, client: &Client, scopes: &str, now: i64) -> Issued {
    let (key, code) = secrets::keyed_token();
    let row = Code {
        client_id: client.id.clone(),
        sub: "alice".into(),
        redirect_uri: client.redirect_uris[0].clone(),
        scopes: Scopes::parse(scopes).unwrap(),
        claims: None,
        nonce: None,
        code_challenge: None,
        sid: "sid1".into(),
        auth_time: 0,
        amr: "pwd".into(),
        expires_at: now + 60,
        used_at: None,
        grant_id: None,
    };
    store::insert_code(conn, &key, &secrets::digest(&code), &row).unwrap();
    let redemption = CodeRedemption {
        code,
        redirect_uri: Some(client.redirect_uris[0].to_string()),
        code_verifier: None,
    };
    grants::redeem_code(conn, &redemption, client, now, &cfg(), &grants::unsigned)
        .unwrap()
        .unwrap()
}

fn refresh(
    conn: &Tx<'_>,
    token: &str,
    client: &Client,
    scope: Option<&str>,
    now: i64,
) -> Result<Issued, ErrorCode> {
    grants::refresh(conn, token, client, scope, now, &cfg(), &grants::unsigned)
        .unwrap()
        .map_err(|e| e.code)
}

fn access_active(conn: &Tx<'_>, issued: &Issued, now: i64) -> bool {
    store::active_access_token(conn, &issued.access.jti, &access_digest(issued), now)
        .unwrap()
        .is_some()
}

fn access_digest(issued: &Issued) -> String {
    secrets::digest(&issued.access_token)
}

fn as_presented(issued: &Issued) -> Presented {
    let claims = AccessClaims {
        iss: ISS.into(),
        sub: "alice".into(),
        client_id: issued.access.client_id.to_string(),
        scope: issued.access.scopes.to_string(),
        jti: issued.access.jti.clone(),
        iat: 0,
        exp: issued.access.expires_at,
        aud: ISS.into(),
    };
    Presented::Access(Box::new(PresentedAccess {
        claims,
        digest: access_digest(issued),
    }))
}

#[test]
fn refresh_tokens_only_with_the_grant_and_offline_access() {
    let (conn, clients) = setup();
    let (a, b) = (clients.get("a").unwrap(), clients.get("b").unwrap());
    assert!(
        tokens(&conn.tx(), a, "openid email", 0)
            .refresh_token
            .is_none()
    );
    assert!(
        tokens(&conn.tx(), b, "openid offline_access", 0)
            .refresh_token
            .is_none(),
        "b lacks the refresh_token grant"
    );
    assert!(
        tokens(&conn.tx(), a, "openid offline_access", 0)
            .refresh_token
            .is_some()
    );
}

#[test]
fn rotation_and_reuse_detection() {
    let (conn, clients) = setup();
    let a = clients.get("a").unwrap();
    let first = tokens(&conn.tx(), a, "openid email offline_access", 0);
    let rt1 = first.refresh_token.clone().unwrap();
    let second = refresh(&conn.tx(), &rt1, a, None, 10).unwrap();
    assert_eq!(second.grant.sub.as_deref(), Some("alice"));
    let rt2 = second.refresh_token.clone().unwrap();
    assert_ne!(rt1, rt2, "rotated");
    assert!(
        access_active(&conn.tx(), &first, 10),
        "old access tokens live on"
    );
    // The rotated token comes back: the whole family dies.
    assert_eq!(
        refresh(&conn.tx(), &rt1, a, None, 20).err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert_eq!(
        refresh(&conn.tx(), &rt2, a, None, 21).err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert!(!access_active(&conn.tx(), &first, 21));
    assert!(!access_active(&conn.tx(), &second, 21));
}

#[test]
fn refresh_is_bound_to_client_and_scope() {
    let (conn, clients) = setup();
    let (a, b) = (clients.get("a").unwrap(), clients.get("b").unwrap());
    let rt = tokens(&conn.tx(), a, "openid email offline_access", 0)
        .refresh_token
        .unwrap();
    assert_eq!(
        refresh(&conn.tx(), &rt, b, None, 1).err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert_eq!(
        refresh(&conn.tx(), &rt, a, Some("openid profile"), 1).err(),
        Some(ErrorCode::InvalidScope)
    );
    let narrowed = refresh(&conn.tx(), &rt, a, Some("openid"), 2).unwrap();
    assert_eq!(narrowed.access.scopes.to_string(), "openid");
    let next = narrowed.refresh_token.unwrap();
    let full = refresh(&conn.tx(), &next, a, None, 3).unwrap();
    assert_eq!(
        full.access.scopes.to_string(),
        "openid email offline_access",
        "the family keeps its original scope"
    );
}

#[test]
fn idle_and_absolute_lifetimes() {
    let (conn, clients) = setup();
    let a = clients.get("a").unwrap();
    let rt = tokens(&conn.tx(), a, "openid offline_access", 0)
        .refresh_token
        .unwrap();
    assert_eq!(
        refresh(&conn.tx(), &rt, a, None, 1000).err(),
        Some(ErrorCode::InvalidGrant),
        "idle"
    );
    let mut rt = tokens(&conn.tx(), a, "openid offline_access", 0)
        .refresh_token
        .unwrap();
    for now in [900, 1800, 2700, 3600, 4500] {
        rt = refresh(&conn.tx(), &rt, a, None, now)
            .unwrap()
            .refresh_token
            .unwrap();
    }
    assert_eq!(
        refresh(&conn.tx(), &rt, a, None, 5000).err(),
        Some(ErrorCode::InvalidGrant),
        "absolute"
    );
}

#[test]
fn revocation_of_own_tokens_only() {
    let (conn, clients) = setup();
    let (a, b) = (clients.get("a").unwrap(), clients.get("b").unwrap());
    let issued = tokens(&conn.tx(), a, "openid offline_access", 0);
    let access = as_presented(&issued);
    let refresh_token = Presented::Refresh(secrets::digest(issued.refresh_token.as_ref().unwrap()));
    let refused = revoke(&conn.tx(), &access, b, 1).unwrap().unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidGrant);
    assert!(revoke(&conn.tx(), &refresh_token, b, 1).unwrap().is_err());
    assert!(access_active(&conn.tx(), &issued, 1), "untouched by b");
    assert!(
        revoke(&conn.tx(), &Presented::Unknown, b, 1)
            .unwrap()
            .is_ok()
    );
    assert!(
        revoke(&conn.tx(), &Presented::Refresh("nope".into()), a, 1)
            .unwrap()
            .is_ok()
    );
    revoke(&conn.tx(), &refresh_token, a, 2).unwrap().unwrap();
    assert!(
        !access_active(&conn.tx(), &issued, 2),
        "the grant's access tokens go too"
    );
    let rt = issued.refresh_token.unwrap();
    assert_eq!(
        refresh(&conn.tx(), &rt, a, None, 3).err(),
        Some(ErrorCode::InvalidGrant)
    );

    let other = tokens(&conn.tx(), a, "openid offline_access", 10);
    revoke(&conn.tx(), &as_presented(&other), a, 11)
        .unwrap()
        .unwrap();
    assert!(!access_active(&conn.tx(), &other, 11));
    assert!(
        refresh(
            &conn.tx(),
            other.refresh_token.as_ref().unwrap(),
            a,
            None,
            12
        )
        .is_ok(),
        "revoking an access token leaves its refresh token"
    );
}

#[test]
fn introspection_shows_own_active_tokens_only() {
    let (conn, clients) = setup();
    let (a, b) = (clients.get("a").unwrap(), clients.get("b").unwrap());
    let issued = tokens(&conn.tx(), a, "openid email offline_access", 100);
    let access = as_presented(&issued);
    let seen = introspect(&conn.tx(), &access, a, ISS, 101).unwrap();
    assert!(seen.active);
    assert_eq!(seen.client_id.as_deref(), Some("a"));
    assert_eq!(seen.scope.as_deref(), Some("openid email offline_access"));
    assert_eq!(seen.exp, Some(700));
    assert_eq!(seen.token_type, Some("Bearer"));
    assert!(!introspect(&conn.tx(), &access, b, ISS, 101).unwrap().active);
    assert!(
        !introspect(&conn.tx(), &access, a, ISS, 700).unwrap().active,
        "expired"
    );

    let rt = Presented::Refresh(secrets::digest(issued.refresh_token.as_ref().unwrap()));
    let seen = introspect(&conn.tx(), &rt, a, ISS, 101).unwrap();
    assert!(seen.active);
    assert_eq!(
        (seen.sub.as_deref(), seen.exp, seen.iat),
        (Some("alice"), Some(1100), Some(100))
    );
    assert!(!introspect(&conn.tx(), &rt, b, ISS, 101).unwrap().active);
    assert!(
        !introspect(&conn.tx(), &rt, a, ISS, 1100).unwrap().active,
        "idle"
    );
    refresh(
        &conn.tx(),
        issued.refresh_token.as_ref().unwrap(),
        a,
        None,
        200,
    )
    .unwrap();
    assert!(
        !introspect(&conn.tx(), &rt, a, ISS, 201).unwrap().active,
        "rotated"
    );
    let inactive = serde_json::to_value(introspect(&conn.tx(), &rt, a, ISS, 201).unwrap()).unwrap();
    assert_eq!(inactive, serde_json::json!({"active": false}));
}

#[test]
fn ending_a_session_revokes_its_access_tokens_but_not_offline_refresh() {
    let (conn, clients) = setup();
    let (a, b) = (clients.get("a").unwrap(), clients.get("b").unwrap());
    let online = tokens(&conn.tx(), b, "openid email", 0);
    let offline = tokens(&conn.tx(), a, "openid offline_access", 0);
    let wants = |id: &str| {
        clients
            .get(id)
            .is_some_and(|c| c.backchannel_logout_uri.is_some())
    };
    let ended = end_session(&conn.tx(), "cookie-digest", &wants, 10)
        .unwrap()
        .unwrap();
    assert_eq!((ended.sid.as_str(), ended.sub.as_str()), ("sid1", "alice"));
    assert_eq!(ended.notified, ["a"], "b has no backchannel_logout_uri");
    assert!(!access_active(&conn.tx(), &online, 10));
    assert!(!access_active(&conn.tx(), &offline, 10));
    assert!(
        refresh(
            &conn.tx(),
            offline.refresh_token.as_ref().unwrap(),
            a,
            None,
            11
        )
        .is_ok(),
        "offline_access outlives the session"
    );
    assert!(
        sessions::live(&conn.tx(), "cookie-digest", 11)
            .unwrap()
            .is_none()
    );
    assert!(
        end_session(&conn.tx(), "cookie-digest", &wants, 12)
            .unwrap()
            .is_none()
    );
    let queued = crate::store::backchannel::lease_due(&conn.tx(), 12, 100, 10).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].client_id.as_str(), queued[0].sid.as_str()),
        ("a", "sid1")
    );
}

#[test]
fn a_password_change_ends_offline_families_too_and_tells_their_service() {
    use crate::accounts::password_change::{PasswordChange, password_changed};
    let (conn, clients) = setup();
    let a = clients.get("a").unwrap();
    let offline = tokens(&conn.tx(), a, "openid offline_access", 0);
    // The session that obtained it ended long ago (a logout): the family
    // lives on, and only a password change reaches it.
    end_session(&conn.tx(), "cookie-digest", &|_: &str| false, 5).unwrap();
    let mailer = crate::mail::Mailer::new(&crate::config::MailConfig {
        transport: crate::config::MailTransport::Outbox,
        from: "Espace Citoyens <nepasrepondre@example.org>".into(),
        outbox_dir: "unused".into(),
    })
    .unwrap();
    let change = PasswordChange {
        sub: "alice",
        keep_sid: None,
        lang: crate::i18n::Lang::Fr,
        forgot_url: "https://id.example/password/forgot",
    };
    let ended = password_changed(&conn.tx(), &mailer, &clients, &change, 10).unwrap();
    assert_eq!((ended.sessions, ended.grants), (0, 1));
    assert_eq!(ended.notified, ["a"]);
    let rt = offline.refresh_token.as_ref().unwrap();
    assert_eq!(
        refresh(&conn.tx(), rt, a, None, 11).err(),
        Some(ErrorCode::InvalidGrant)
    );
    assert!(!access_active(&conn.tx(), &offline, 11));
    let queued = crate::store::backchannel::lease_due(&conn.tx(), 12, 100, 10).unwrap();
    assert_eq!(
        (queued[0].client_id.as_str(), queued[0].sid.as_str()),
        ("a", "sid1")
    );
    let mails = crate::store::mail_queue::pending(&conn.tx()).unwrap();
    assert_eq!(mails.len(), 1, "the notice to the citizen");
    assert_eq!(
        password_changed(&conn.tx(), &mailer, &clients, &change, 20)
            .unwrap()
            .notified,
        Vec::<String>::new(),
        "nothing left to end, nobody told twice"
    );
}

#[test]
fn ended_grants_are_purged_with_their_tokens() {
    let (conn, clients) = setup();
    let a = clients.get("a").unwrap();
    let family = tokens(&conn.tx(), a, "openid offline_access", 0);
    let online = tokens(&conn.tx(), a, "openid", 0);
    assert_eq!(
        crate::store::expired::grants(&conn.tx(), 4999, 10)
            .unwrap()
            .removed,
        1,
        "the grant without a family"
    );
    assert!(!access_active(&conn.tx(), &online, 1));
    assert!(access_active(&conn.tx(), &family, 1));
    assert_eq!(
        crate::store::expired::grants(&conn.tx(), 5000, 10)
            .unwrap()
            .removed,
        1,
        "the family's absolute end"
    );
    let rt = family.refresh_token.unwrap();
    assert_eq!(
        refresh(&conn.tx(), &rt, a, None, 1).err(),
        Some(ErrorCode::InvalidGrant)
    );
}
