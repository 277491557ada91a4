//! The link and limit rules, with the clock passed in and a real SQLite.

use super::*;
use crate::accounts::audit::Origin;
use crate::config::{MailConfig, MailTransport};
use crate::store::Tx;
use crate::store::sessions::{self, Session};
use crate::store::users::User;

const T0: i64 = 1_000_000;

fn mailer() -> Mailer {
    Mailer::new(&MailConfig {
        transport: MailTransport::Outbox,
        from: "Espace Citoyens <nepasrepondre@example.org>".into(),
        outbox_dir: "unused".into(),
    })
    .unwrap()
}

fn ctx() -> MailContext {
    MailContext {
        ip: "192.0.2.1".into(),
        lang: Lang::Fr,
        interaction: Some("pending-request".into()),
        browser: None,
        ttl_seconds: 300,
        limits: MailLimits {
            min_interval_seconds: 60,
            max_per_requester_per_hour: 5,
            max_per_address_per_window: 5,
            address_window_seconds: 300,
            max_per_ip_per_hour: 20,
        },
        verify_url: "https://id.example.org/verify?token=".into(),
        reset_url: "https://id.example.org/password/reset?token=".into(),
    }
}

fn user(conn: &Tx<'_>, email: &str, verified: bool, created_at: i64) -> User {
    let user = User {
        sub: format!("sub-{email}"),
        email: email.into(),
        email_verified: verified,
        password_hash: "x".into(),
        created_at,
        updated_at: created_at,
        ..User::default()
    };
    users::insert(conn, &user).unwrap();
    user
}

fn token_of(link: &str) -> &str {
    link.rsplit('=').next().unwrap()
}

#[test]
fn a_link_lives_its_ttl_and_is_stored_as_a_digest() {
    let conn = crate::store::memory();
    user(&conn.tx(), "a@example.test", false, T0);
    let token = issue(
        &conn.tx(),
        &Holder::Account("sub-a@example.test".into()),
        Purpose::Verify,
        &ctx(),
        T0,
    )
    .unwrap();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let stored: String = conn
        .sql()
        .query_row("SELECT digest FROM email_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, secrets::digest(&token));
    assert_ne!(stored, token);
    let at = |now| inspect(&conn.tx(), &token, Purpose::Verify, now).unwrap();
    assert!(matches!(at(T0 + 299), LinkState::Valid(_)));
    assert!(matches!(at(T0 + 300), LinkState::Expired(_)));
    assert_eq!(
        inspect(&conn.tx(), &token, Purpose::Reset, T0).unwrap(),
        LinkState::Unknown,
        "a link is good for its own purpose only"
    );
    assert_eq!(
        inspect(&conn.tx(), "not-a-token", Purpose::Verify, T0).unwrap(),
        LinkState::Unknown
    );
}

#[test]
fn a_link_is_single_use_and_a_new_one_replaces_it() {
    let conn = crate::store::memory();
    user(&conn.tx(), "a@example.test", false, T0);
    let first = issue(
        &conn.tx(),
        &Holder::Account("sub-a@example.test".into()),
        Purpose::Verify,
        &ctx(),
        T0,
    )
    .unwrap();
    let second = issue(
        &conn.tx(),
        &Holder::Account("sub-a@example.test".into()),
        Purpose::Verify,
        &ctx(),
        T0 + 10,
    )
    .unwrap();
    assert!(matches!(
        redeem(&conn.tx(), &first, Purpose::Verify, T0 + 20).unwrap(),
        LinkState::Replaced(_)
    ));
    assert!(matches!(
        redeem(&conn.tx(), &second, Purpose::Verify, T0 + 20).unwrap(),
        LinkState::Valid(_)
    ));
    assert!(matches!(
        redeem(&conn.tx(), &second, Purpose::Verify, T0 + 21).unwrap(),
        LinkState::Used(_)
    ));
    let reset = issue(
        &conn.tx(),
        &Holder::Account("sub-a@example.test".into()),
        Purpose::Reset,
        &ctx(),
        T0 + 30,
    )
    .unwrap();
    assert!(
        matches!(
            inspect(&conn.tx(), &reset, Purpose::Reset, T0 + 31).unwrap(),
            LinkState::Valid(_)
        ),
        "links of another purpose are not replaced"
    );
}

#[test]
fn mail_limits_per_requester_per_address_and_per_ip() {
    let conn = crate::store::memory();
    let c = ctx();
    let from = |ip: &str| MailContext {
        ip: ip.into(),
        ..c.clone()
    };
    assert_eq!(allow_mail(&conn.tx(), "a@x.test", &c, T0).unwrap(), Ok(()));
    assert_eq!(
        allow_mail(&conn.tx(), "A@x.test", &c, T0 + 59).unwrap(),
        Err(Limit::Address),
        "one a minute per address and requester, whatever its case"
    );
    assert_eq!(
        allow_mail(&conn.tx(), "a@x.test", &from("192.0.2.9"), T0 + 59).unwrap(),
        Ok(()),
        "another requester is not held by the first one's requests"
    );
    for i in 1..4 {
        assert_eq!(
            allow_mail(&conn.tx(), "a@x.test", &c, T0 + 300 * i).unwrap(),
            Ok(())
        );
    }
    assert_eq!(
        allow_mail(&conn.tx(), "a@x.test", &c, T0 + 1500).unwrap(),
        Ok(()),
        "the fifth of the hour"
    );
    assert_eq!(
        allow_mail(&conn.tx(), "a@x.test", &c, T0 + 1800).unwrap(),
        Err(Limit::Address),
        "five an hour per address and requester"
    );
    assert_eq!(
        allow_mail(&conn.tx(), "a@x.test", &from("192.0.2.9"), T0 + 1800).unwrap(),
        Ok(()),
        "while the owner, elsewhere, still gets theirs"
    );
    // Many requesters together: at most five per address in five minutes,
    // then the next window opens for whoever asks first.
    for i in 0..5 {
        assert_eq!(
            allow_mail(
                &conn.tx(),
                "b@x.test",
                &from(&format!("198.51.100.{i}")),
                T0
            )
            .unwrap(),
            Ok(())
        );
    }
    assert_eq!(
        allow_mail(&conn.tx(), "b@x.test", &from("203.0.113.1"), T0 + 10).unwrap(),
        Err(Limit::Address),
        "the per-address ceiling"
    );
    assert_eq!(
        allow_mail(&conn.tx(), "b@x.test", &from("203.0.113.1"), T0 + 301).unwrap(),
        Ok(()),
        "five minutes later"
    );
    // Twenty an hour per requester over all addresses.
    let d = from("192.0.2.50");
    for i in 0..20 {
        assert_eq!(
            allow_mail(&conn.tx(), &format!("other{i}@x.test"), &d, T0 + 3602).unwrap(),
            Ok(())
        );
    }
    assert_eq!(
        allow_mail(&conn.tx(), "new@x.test", &d, T0 + 3603).unwrap(),
        Err(Limit::Ip),
        "twenty an hour per IP"
    );
    assert_eq!(
        allow_mail(&conn.tx(), "new@x.test", &from("192.0.2.51"), T0 + 3603).unwrap(),
        Ok(())
    );
    let off = MailContext {
        limits: MailLimits {
            min_interval_seconds: 0,
            max_per_requester_per_hour: 0,
            max_per_address_per_window: 0,
            address_window_seconds: 300,
            max_per_ip_per_hour: 0,
        },
        ..c
    };
    for _ in 0..30 {
        assert_eq!(
            allow_mail(&conn.tx(), "a@x.test", &off, T0 + 3700).unwrap(),
            Ok(())
        );
    }
}

#[test]
fn renewal_is_rate_limited() {
    let conn = crate::store::memory();
    let m = mailer();
    let u = user(&conn.tx(), "a@example.test", false, T0);
    allow_mail(&conn.tx(), &u.email, &ctx(), T0)
        .unwrap()
        .unwrap();
    let to = Recipient::account(&u);
    let link = send(&conn.tx(), &m, &to, mail::Kind::Verify, &ctx(), T0).unwrap();
    assert_eq!(
        renew(&conn.tx(), &m, token_of(&link), &ctx(), T0 + 30).unwrap(),
        Renewed::Limited(Limit::Address)
    );
}

#[test]
fn reset_ends_every_session_and_verifies_the_address() {
    let conn = crate::store::memory();
    let m = mailer();
    let u = user(&conn.tx(), "a@example.test", false, T0);
    for sid in ["s1", "s2"] {
        let session = Session {
            sid: sid.into(),
            sub: u.sub.clone(),
            auth_time: T0,
            amr: vec!["pwd".into()],
            acr: None,
            idle_expires_at: T0 + 1000,
            expires_at: T0 + 1000,
        };
        sessions::insert(&conn.tx(), &format!("digest-{sid}"), &session, T0).unwrap();
    }
    let (ok, limited) = (
        forgot(&conn.tx(), &m, "a@example.test", &ctx(), T0).unwrap(),
        forgot(&conn.tx(), &m, "a@example.test", &ctx(), T0 + 1).unwrap(),
    );
    assert_eq!(limited, Err(Limit::Address));
    let token = token_of(&ok.unwrap().unwrap()).to_owned();
    assert!(reset_target(&conn.tx(), &token, T0 + 10).unwrap().is_ok());
    let clients = crate::config::Clients::demo();
    let origin = Origin::default();
    let new = |token| NewPassword {
        token,
        password_hash: "new-hash",
        lang: Lang::Fr,
        forgot_url: "https://id.example.org/password/forgot",
        origin: &origin,
        browser: Some("elsewhere"),
    };
    let reset = reset_password(&conn.tx(), &m, &clients, &new(&token), T0 + 10)
        .unwrap()
        .unwrap();
    assert_eq!(reset.sub, u.sub);
    assert_eq!(reset.ended.sessions, 2);
    assert_eq!(
        reset.resume, None,
        "another browser than the asking one resumes no request"
    );
    let after = users::by_sub(&conn.tx(), &u.sub).unwrap().unwrap();
    assert_eq!(after.password_hash, "new-hash");
    assert!(after.email_verified);
    assert!(
        sessions::live(&conn.tx(), "digest-s1", T0 + 11)
            .unwrap()
            .is_none()
    );
    assert!(
        sessions::live(&conn.tx(), "digest-s2", T0 + 11)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        reset_password(&conn.tx(), &m, &clients, &new(&token), T0 + 12).unwrap(),
        Err(LinkState::Used(_))
    ));
    assert_eq!(
        forgot(&conn.tx(), &m, "nobody@example.test", &ctx(), T0).unwrap(),
        Ok(None),
        "nothing sent to an unknown address"
    );
}

#[test]
fn old_unverified_accounts_are_removed() {
    let conn = crate::store::memory();
    user(&conn.tx(), "old@example.test", false, T0);
    user(&conn.tx(), "young@example.test", false, T0 + 7 * 86_400);
    user(&conn.tx(), "verified@example.test", true, T0);
    let now = T0 + 7 * 86_400 + 1;
    assert_eq!(housekeeping(&conn.tx(), now, 7).unwrap(), 1);
    assert!(
        users::by_email(&conn.tx(), "old@example.test")
            .unwrap()
            .is_none()
    );
    assert!(
        users::by_email(&conn.tx(), "young@example.test")
            .unwrap()
            .is_some()
    );
    assert!(
        users::by_email(&conn.tx(), "verified@example.test")
            .unwrap()
            .is_some()
    );
}
