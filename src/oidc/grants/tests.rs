//! Code redemption rules with the clock passed in: expiry, single use,
//! binding, and revocation on replay.

use super::*;
use crate::config::{Clients, Config};
use crate::oidc::authorize::{Prompt, ResponseMode, ReturnTo};
use crate::store::Db;
use crate::store::Tx;
use crate::store::users::{self, User};

fn setup() -> (Db, Client, TokenConfig, AuthRequest, Session) {
    let conn = crate::store::memory();
    users::insert(
        &conn.tx(),
        &User {
            sub: "alice".into(),
            email: "a@example.test".into(),
            ..User::default()
        },
    )
    .unwrap();
    let client = Clients::demo().get("portail-citoyen").unwrap().clone();
    let req = AuthRequest {
        client_id: client.id.clone(),
        return_to: ReturnTo {
            redirect_uri: client.redirect_uris[0].clone(),
            response_mode: ResponseMode::Query,
            state: None,
        },
        scopes: Scopes::parse("openid offline_access").unwrap(),
        consent_scopes: Scopes::parse("offline_access openid").unwrap(),
        nonce: Some("n".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        ui_locales: None,
        claims: None,
        hint_sub: None,
        second_factor: false,
    };
    let session = Session {
        sid: "sid-1".into(),
        sub: "alice".into(),
        auth_time: 900,
        amr: vec!["pwd".into()],
        acr: None,
        idle_expires_at: 5000,
        expires_at: 5000,
    };
    (conn, client, Config::defaults().tokens, req, session)
}

/// Redeems `code` with `verifier` for `client` at `now`.
fn redeem(
    conn: &Tx<'_>,
    code: &str,
    verifier: &str,
    client: &Client,
    cfg: &TokenConfig,
    now: i64,
) -> Result<Issued, OAuthError> {
    let r = CodeRedemption {
        code: code.into(),
        redirect_uri: Some("http://127.0.0.1:8081/callback".into()),
        code_verifier: Some(verifier.into()),
    };
    redeem_code(conn, &r, client, now, cfg, &unsigned).unwrap()
}

/// Whether the access token `issued` carries is active at `now`.
fn access_active(conn: &Tx<'_>, issued: &Issued, now: i64) -> bool {
    let digest = secrets::digest(&issued.access_token);
    store::active_access_token(conn, &issued.access.jti, &digest, now)
        .unwrap()
        .is_some()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#[test]
fn a_code_expires_after_60_seconds() {
    let (conn, client, cfg, req, session) = setup();
    let code = issue_code(&conn.tx(), &req, &session, 1000, cfg.code_ttl).unwrap();
    let late = redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1060);
    assert_eq!(late.unwrap_err().code, crate::oidc::ErrorCode::InvalidGrant);
    let in_time = redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1059).unwrap();
    assert_eq!(in_time.nonce.as_deref(), Some("n"));
    assert_eq!(in_time.grant.auth_time, Some(900));
    assert!(
        in_time.refresh_token.is_some(),
        "offline_access and the refresh_token grant"
    );
}

#[test]
fn a_replayed_code_revokes_the_first_tokens() {
    let (conn, client, cfg, req, session) = setup();
    let code = issue_code(&conn.tx(), &req, &session, 1000, cfg.code_ttl).unwrap();
    let first = redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1001).unwrap();
    assert!(access_active(&conn.tx(), &first, 1002));
    let again = redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1002);
    assert_eq!(
        again.unwrap_err().code,
        crate::oidc::ErrorCode::InvalidGrant
    );
    assert!(!access_active(&conn.tx(), &first, 1003));
    let refresh = first.refresh_token.unwrap();
    let refused = refresh_grant(&conn.tx(), &refresh, &client, 1004, &cfg);
    assert_eq!(
        refused.unwrap_err().code,
        crate::oidc::ErrorCode::InvalidGrant,
        "the family is revoked too"
    );
}

#[test]
fn a_wrong_verifier_leaves_the_code_usable() {
    let (conn, client, cfg, req, session) = setup();
    let code = issue_code(&conn.tx(), &req, &session, 1000, cfg.code_ttl).unwrap();
    let wrong = redeem(
        &conn.tx(),
        &code,
        &VERIFIER.replace('d', "D"),
        &client,
        &cfg,
        1001,
    );
    assert!(wrong.is_err());
    assert!(redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1002).is_ok());
}

fn refresh_grant(
    conn: &Tx<'_>,
    token: &str,
    client: &Client,
    now: i64,
    cfg: &TokenConfig,
) -> Result<Issued, OAuthError> {
    refresh(conn, token, client, None, now, cfg, &unsigned).unwrap()
}

#[test]
fn refresh_rotates_and_a_reused_token_kills_the_family() {
    let (conn, client, cfg, req, session) = setup();
    let code = issue_code(&conn.tx(), &req, &session, 1000, cfg.code_ttl).unwrap();
    let first = redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1001).unwrap();
    let r1 = first.refresh_token.unwrap();
    let second = refresh_grant(&conn.tx(), &r1, &client, 2000, &cfg).unwrap();
    let r2 = second.refresh_token.clone().unwrap();
    assert_ne!(r1, r2);
    assert!(
        refresh_grant(&conn.tx(), &r1, &client, 2001, &cfg).is_err(),
        "rotated token refused"
    );
    assert!(
        refresh_grant(&conn.tx(), &r2, &client, 2002, &cfg).is_err(),
        "and the newer one is revoked with it"
    );
    assert!(
        store::active_access_token(
            &conn.tx(),
            &second.access.jti,
            &secrets::digest(&second.access_token),
            2003
        )
        .unwrap()
        .is_none()
    );
}

#[test]
fn refresh_tokens_expire_when_idle() {
    let (conn, client, cfg, req, session) = setup();
    let code = issue_code(&conn.tx(), &req, &session, 1000, cfg.code_ttl).unwrap();
    let first = redeem(&conn.tx(), &code, VERIFIER, &client, &cfg, 1001).unwrap();
    let token = first.refresh_token.unwrap();
    assert!(
        refresh_grant(
            &conn.tx(),
            &token,
            &client,
            1001 + cfg.refresh_idle_ttl,
            &cfg
        )
        .is_err()
    );
    assert!(
        refresh_grant(
            &conn.tx(),
            &token,
            &client,
            1000 + cfg.refresh_idle_ttl,
            &cfg
        )
        .is_ok()
    );
}
