//! The second factor's rules with the clock passed in and a real SQLite:
//! enrolment after one right code, ±1 step, no replay, recovery codes used
//! once, the throttle of wrong answers.

use super::*;

const NOW: i64 = 1_800_000_000; // a step boundary: 1_800_000_000 / 30 is whole

fn attempt() -> Attempt {
    Attempt {
        client: "203.0.113.9".into(),
        limits: crate::config::Config::defaults().policy.login_limits,
        audit: audit::Origin::default(),
        service: None,
        notices: Notices {
            mailer: Arc::new(
                crate::mail::Mailer::new(&crate::config::MailConfig {
                    transport: crate::config::MailTransport::Outbox,
                    from: "Espace Citoyens <nepasrepondre@example.org>".into(),
                    outbox_dir: "unused".into(),
                })
                .unwrap(),
            ),
            forgot_url: "https://ville.example/password/forgot".into(),
            lang: Lang::Fr,
        },
    }
}

fn citizen(tx: &Tx<'_>) -> &'static str {
    let user = store::users::User {
        sub: "s1".into(),
        email: "totp@example.test".into(),
        ..Default::default()
    };
    store::users::insert(tx, &user).unwrap();
    "s1"
}

/// Enrols `sub` at `NOW`; returns the key and the recovery codes.
fn enrolled(tx: &Tx<'_>, sub: &str) -> (String, Vec<String>) {
    let Begun::Started(e) = begin(tx, sub, NOW).unwrap() else {
        panic!("not started")
    };
    let secret = e.secret.clone();
    let code = code_at(&secret, NOW);
    let Confirmed::Enabled(codes) = confirm(tx, sub, &code, &attempt(), NOW).unwrap() else {
        panic!("not confirmed")
    };
    (secret, codes)
}

#[test]
fn the_key_is_shown_in_fours_and_as_an_otpauth_uri() {
    let e = Enrolment {
        secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
    };
    assert_eq!(e.grouped(), "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
    assert_eq!(
        e.uri("Sésame", "a@example.test"),
        "otpauth://totp/S%C3%A9same:a%40example.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=S%C3%A9same&algorithm=SHA1&digits=6&period=30"
    );
    assert_eq!(format!("{e:?}"), "Enrolment([redacted])");
}

#[test]
fn rfc_6238_sha1_vectors() {
    // RFC 6238 Appendix B, the SHA-1 key "12345678901234567890", 6 digits.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(code_at(secret, 59), "287082");
    assert_eq!(code_at(secret, 1_111_111_109), "081804");
    assert_eq!(code_at(secret, 2_000_000_000), "279037");
}

#[test]
fn enrolment_needs_one_right_code_then_the_factor_is_on() {
    let db = store::memory();
    let tx = db.tx();
    let sub = citizen(&tx);
    let Begun::Started(e) = begin(&tx, sub, NOW).unwrap() else {
        panic!()
    };
    assert_eq!(status(&tx, sub).unwrap().since, None);
    let wrong = confirm(&tx, sub, "000000", &attempt(), NOW).unwrap();
    assert!(matches!(wrong, Confirmed::Wrong(ref again) if *again == e));
    let right = code_at(&e.secret, NOW);
    let Confirmed::Enabled(codes) = confirm(&tx, sub, &right, &attempt(), NOW).unwrap() else {
        panic!()
    };
    assert_eq!(codes.len(), RECOVERY_CODES);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.matches('-').count() == 3)
    );
    let on = status(&tx, sub).unwrap();
    assert_eq!((on.since, on.codes_left), (Some(NOW), 10));
    assert!(matches!(begin(&tx, sub, NOW).unwrap(), Begun::AlreadyOn));
    assert_eq!(
        check(&tx, sub, &right, &attempt(), NOW).unwrap(),
        Checked::Refused,
        "the confirming code is used"
    );
}

#[test]
fn one_step_either_side_and_never_twice() {
    let db = store::memory();
    let tx = db.tx();
    let sub = citizen(&tx);
    let (secret, _) = enrolled(&tx, sub);
    let at = |dt: i64| code_at(&secret, NOW + 300 + dt);
    let now = NOW + 300;
    assert_eq!(
        check(&tx, sub, &at(90), &attempt(), now).unwrap(),
        Checked::Refused
    );
    assert_eq!(
        check(&tx, sub, &at(-90), &attempt(), now).unwrap(),
        Checked::Refused
    );
    assert_eq!(
        check(&tx, sub, &at(-30), &attempt(), now).unwrap(),
        Checked::Code
    );
    assert_eq!(
        check(&tx, sub, &at(-30), &attempt(), now).unwrap(),
        Checked::Refused,
        "replayed"
    );
    assert_eq!(
        check(&tx, sub, &at(0), &attempt(), now).unwrap(),
        Checked::Code
    );
    assert_eq!(
        check(&tx, sub, &at(30), &attempt(), now).unwrap(),
        Checked::Code
    );
    assert_eq!(
        check(&tx, sub, &at(0), &attempt(), now).unwrap(),
        Checked::Refused,
        "older than a step used"
    );
}

#[test]
fn recovery_codes_work_once_and_a_new_set_kills_the_old() {
    let db = store::memory();
    let tx = db.tx();
    let sub = citizen(&tx);
    let (_, codes) = enrolled(&tx, sub);
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(
        check(&tx, sub, &typed, &attempt(), NOW).unwrap(),
        Checked::Recovery { left: 9 }
    );
    assert_eq!(
        check(&tx, sub, &codes[0], &attempt(), NOW).unwrap(),
        Checked::Refused
    );
    let renewed = regenerate(&tx, sub, &audit::Origin::default(), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(status(&tx, sub).unwrap().codes_left, 10);
    assert_eq!(
        check(&tx, sub, &codes[1], &attempt(), NOW).unwrap(),
        Checked::Refused
    );
    assert_eq!(
        check(&tx, sub, &renewed[1], &attempt(), NOW).unwrap(),
        Checked::Recovery { left: 9 }
    );
}

#[test]
fn bad_answers_are_refused_alike_then_throttled() {
    let db = store::memory();
    let tx = db.tx();
    let sub = citizen(&tx);
    let (secret, _) = enrolled(&tx, sub);
    let now = NOW + 600;
    for bad in [
        "12345",
        "abcdef",
        "1234567",
        &"9".repeat(10_000),
        "",
        "12 34 5x",
    ] {
        assert_eq!(
            check(&tx, sub, bad, &attempt(), now).unwrap(),
            Checked::Refused
        );
    }
    // Six wrong answers: the sixth earned a wait; even the right code waits.
    let right = code_at(&secret, now);
    assert!(matches!(
        check(&tx, sub, &right, &attempt(), now).unwrap(),
        Checked::Throttled { retry_after: 30 }
    ));
    assert_eq!(
        check(&tx, sub, &right, &attempt(), now + 30).unwrap(),
        Checked::Code
    );
    let events = audit::recent(&tx, sub, 50).unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.detail.as_deref() != Some(right.as_str()))
    );
}

#[test]
fn a_step_up_adds_otp_and_mfa_after_a_password_only() {
    let db = store::memory();
    let tx = db.tx();
    let sub = citizen(&tx);
    let session = Session {
        sid: "sid".into(),
        sub: sub.into(),
        auth_time: NOW,
        amr: vec!["pwd".into()],
        acr: None,
        idle_expires_at: NOW + 100,
        expires_at: NOW + 100,
    };
    store::sessions::insert(&tx, "old", &session, NOW).unwrap();
    assert!(!owes_code(&tx, &session).unwrap(), "nothing enrolled");
    enrolled(&tx, sub);
    assert!(
        owes_code(&tx, &session).unwrap(),
        "enrolled elsewhere: owed here too"
    );
    let up = step_up(&tx, &session, "new").unwrap();
    assert_eq!(up.amr, ["pwd", "otp", "mfa"]);
    assert!(store::sessions::live(&tx, "old", NOW).unwrap().is_none());
    let moved = store::sessions::live(&tx, "new", NOW).unwrap().unwrap();
    assert_eq!(
        (moved.sid.as_str(), moved.amr.clone()),
        ("sid", up.amr.clone())
    );
    assert!(!owes_code(&tx, &moved).unwrap());
    let link = Session {
        sid: "sid2".into(),
        amr: vec![],
        ..session
    };
    store::sessions::insert(&tx, "link", &link, NOW).unwrap();
    assert_eq!(
        step_up(&tx, &link, "link2").unwrap().amr,
        ["otp"],
        "no password, no mfa"
    );
}
