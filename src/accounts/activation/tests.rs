//! Activation rules with the clock passed in and a real SQLite: opening
//! changes nothing, the proofs, who wins among several sign-ups, and the
//! renewal of a dead activation link.

use super::*;
use crate::accounts::audit::Origin;
use crate::accounts::links::{MailContext, Recipient, Renewed, renew, resend_verification, send};
use crate::config::{MailConfig, MailLimits, MailTransport};
use crate::i18n::Lang;
use crate::mail::{self, Mailer};
use crate::store::signups::Signup;

const T0: i64 = 1_000_000;
const OWNER: &str = "owner-browser";
const STRANGER: &str = "stranger-browser";

fn mailer() -> Mailer {
    Mailer::new(&MailConfig {
        transport: MailTransport::Outbox,
        from: "Espace Citoyens <nepasrepondre@example.org>".into(),
        outbox_dir: "unused".into(),
    })
    .unwrap()
}

fn ctx(browser: &str, interaction: &str) -> MailContext {
    MailContext {
        ip: "192.0.2.1".into(),
        lang: Lang::Fr,
        interaction: Some(interaction.into()),
        browser: Some(browser.into()),
        ttl_seconds: 300,
        limits: MailLimits {
            min_interval_seconds: 0,
            max_per_requester_per_hour: 0,
            max_per_address_per_window: 0,
            address_window_seconds: 300,
            max_per_ip_per_hour: 0,
        },
        verify_url: "https://id.example.org/verify?token=".into(),
        reset_url: "https://id.example.org/password/reset?token=".into(),
    }
}

/// A pending sign-up for `email` with `hash`, made in `browser`; returns
/// its activation token.
fn sign_up(tx: &Tx<'_>, email: &str, hash: &str, browser: &str, at: i64) -> String {
    let signup = Signup {
        id: format!("signup-{hash}"),
        email: email.into(),
        password_hash: hash.into(),
        browser: Some(browser.into()),
        interaction: Some(format!("request-of-{browser}")),
        created_at: at,
        ..Signup::default()
    };
    signups::insert(tx, &signup).unwrap();
    let c = ctx(browser, &format!("request-of-{browser}"));
    let link = send(
        tx,
        &mailer(),
        &Recipient::signup(&signup),
        mail::Kind::Verify,
        &c,
        at,
    )
    .unwrap();
    link.rsplit('=').next().unwrap().to_owned()
}

fn account(tx: &Tx<'_>, email: &str) -> Option<User> {
    users::by_email(tx, email).unwrap()
}

#[test]
fn opening_changes_nothing() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    let token = sign_up(&tx, "a@example.test", "hash-a", OWNER, T0);
    for _ in 0..3 {
        let Opened::Valid(target) = open(&tx, &token, Some(OWNER), T0 + 1).unwrap() else {
            panic!("a valid link")
        };
        assert!(target.same_browser);
    }
    assert!(account(&tx, "a@example.test").is_none(), "no account yet");
    let Opened::Valid(elsewhere) = open(&tx, &token, Some(STRANGER), T0 + 1).unwrap() else {
        panic!("still valid")
    };
    assert!(!elsewhere.same_browser);
}

#[test]
fn the_signing_up_browser_activates_with_its_password_and_resumes() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    let token = sign_up(&tx, "a@example.test", "hash-a", OWNER, T0);
    let done = activate(
        &tx,
        &token,
        OWNER,
        &Proof::Browser,
        &Origin::default(),
        T0 + 1,
    )
    .unwrap();
    let Activated::Done { sub, amr, resume } = done else {
        panic!("{done:?}")
    };
    assert!(amr.is_empty(), "a link sign-in is not `pwd`");
    assert_eq!(resume.as_deref(), Some("request-of-owner-browser"));
    let user = account(&tx, "a@example.test").unwrap();
    assert_eq!(user.sub, sub);
    assert!(user.email_verified);
    assert_eq!(user.password_hash, "hash-a");
    assert!(matches!(
        activate(
            &tx,
            &token,
            OWNER,
            &Proof::Browser,
            &Origin::default(),
            T0 + 2
        )
        .unwrap(),
        Activated::Already(_)
    ));
    assert!(matches!(
        open(&tx, &token, Some(OWNER), T0 + 2).unwrap(),
        Opened::Already(_)
    ));
}

#[test]
fn another_browser_needs_the_signup_password_or_a_new_one() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    let token = sign_up(&tx, "a@example.test", "stranger-hash", STRANGER, T0);
    assert_eq!(
        activate(
            &tx,
            &token,
            OWNER,
            &Proof::Browser,
            &Origin::default(),
            T0 + 1
        )
        .unwrap(),
        Activated::Refused
    );
    let wrong = Proof::Password {
        checked_hash: "something-else".into(),
    };
    assert_eq!(
        activate(&tx, &token, OWNER, &wrong, &Origin::default(), T0 + 1).unwrap(),
        Activated::Refused
    );
    assert!(account(&tx, "a@example.test").is_none());
    let chosen = Proof::NewPassword {
        hash: "owner-hash".into(),
    };
    let done = activate(&tx, &token, OWNER, &chosen, &Origin::default(), T0 + 2).unwrap();
    let Activated::Done { amr, resume, .. } = done else {
        panic!("{done:?}")
    };
    assert!(amr.is_empty());
    assert_eq!(
        resume, None,
        "nobody's request continues for a new password"
    );
    let user = account(&tx, "a@example.test").unwrap();
    assert_eq!(
        user.password_hash, "owner-hash",
        "the mailbox owner holds the only valid password"
    );
    assert_eq!(signups::latest(&tx, "a@example.test").unwrap(), None);
}

#[test]
fn the_signup_password_in_another_browser_hands_the_request_over() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    let token = sign_up(&tx, "a@example.test", "hash-a", "phone", T0);
    crate::store::interactions::insert(&tx, "request-of-phone", "{}", Some("phone"), T0 + 600)
        .unwrap();
    let proof = Proof::Password {
        checked_hash: "hash-a".into(),
    };
    let done = activate(&tx, &token, "laptop", &proof, &Origin::default(), T0 + 1).unwrap();
    let Activated::Done { amr, resume, .. } = done else {
        panic!("{done:?}")
    };
    assert_eq!(amr, ["pwd"], "the password was checked in this request");
    assert_eq!(resume.as_deref(), Some("request-of-phone"));
    let pending = crate::store::interactions::get(&tx, "request-of-phone", T0 + 2)
        .unwrap()
        .unwrap();
    assert_eq!(pending.browser.as_deref(), Some("laptop"));
}

#[test]
fn the_owner_signs_up_over_a_strangers_pending_signup_and_wins() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    let stranger = sign_up(&tx, "a@example.test", "stranger-hash", STRANGER, T0);
    let owner = sign_up(&tx, "a@example.test", "owner-hash", OWNER, T0 + 10);
    assert!(matches!(
        activate(
            &tx,
            &owner,
            OWNER,
            &Proof::Browser,
            &Origin::default(),
            T0 + 20
        )
        .unwrap(),
        Activated::Done { .. }
    ));
    assert_eq!(
        account(&tx, "a@example.test").unwrap().password_hash,
        "owner-hash"
    );
    assert_eq!(
        open(&tx, &stranger, Some(STRANGER), T0 + 21).unwrap(),
        Opened::Invalid(LinkState::Unknown),
        "the stranger's sign-up and its link are gone"
    );
}

#[test]
fn a_resent_link_stays_bound_to_the_browser_that_signed_up() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    sign_up(&tx, "a@example.test", "stranger-hash", STRANGER, T0);
    // The owner presses « renvoyer » in their own browser.
    let link = resend_verification(
        &tx,
        &mailer(),
        "a@example.test",
        &ctx(OWNER, "owner-request"),
        T0 + 5,
    )
    .unwrap()
    .unwrap()
    .unwrap();
    let token = link.rsplit('=').next().unwrap();
    assert_eq!(
        activate(
            &tx,
            token,
            OWNER,
            &Proof::Browser,
            &Origin::default(),
            T0 + 6
        )
        .unwrap(),
        Activated::Refused,
        "else the stranger's password would become valid in the owner's browser"
    );
}

#[test]
fn a_dead_activation_link_is_renewed_and_the_fresh_one_works() {
    let conn = crate::store::memory();
    let tx = conn.tx();
    let m = mailer();
    let token = sign_up(&tx, "a@example.test", "hash-a", OWNER, T0);
    assert!(matches!(
        open(&tx, &token, Some(OWNER), T0 + 300).unwrap(),
        Opened::Invalid(LinkState::Expired(_))
    ));
    let renewed = renew(&tx, &m, &token, &ctx(STRANGER, "other"), T0 + 400).unwrap();
    let Renewed::Sent(fresh) = renewed else {
        panic!("{renewed:?}")
    };
    let fresh = fresh.rsplit('=').next().unwrap().to_owned();
    let done = activate(
        &tx,
        &fresh,
        OWNER,
        &Proof::Browser,
        &Origin::default(),
        T0 + 401,
    )
    .unwrap();
    let Activated::Done { resume, .. } = done else {
        panic!("the fresh link keeps the first one's binding: {done:?}")
    };
    assert_eq!(resume.as_deref(), Some("request-of-owner-browser"));
    assert_eq!(
        renew(&tx, &m, &fresh, &ctx(OWNER, "x"), T0 + 500).unwrap(),
        Renewed::AlreadyVerified(Some("request-of-owner-browser".into()))
    );
}
