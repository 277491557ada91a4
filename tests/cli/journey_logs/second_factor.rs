//! The second factor's part of the whole journey, walked as a citizen
//! would: enrolment on the security page (the key read off the page as
//! text, a wrong code, then a right one), a sign-in to a service with a
//! wrong code then a right one, a sign-in with a recovery code, and
//! turning the factor off (a wrong code, then a recovery code). Returns
//! everything secret that was shown or typed, for the log to be searched.

use crate::citizen::{CONFIRM, TOTP, enrolment_key, post, signed_in};
use crate::common::totp::{code, mid_step};
use crate::common::web::{browser, hidden, location, text_of, unescape};
use crate::process::{CALLBACK, Instance};

/// What the code step and the enrolment say of a bad code.
const REFUSED: &str = "Ce code n'est pas valable";

/// A secret of the journey: what it is, and its text.
pub type Secret = (String, String);

/// Posts `typed` as `field` on the code step at `step`.
async fn answer(
    sesame: &Instance,
    b: &reqwest::Client,
    step: &str,
    field: &str,
    typed: &str,
) -> reqwest::Response {
    let html = text_of(b, sesame.url(step)).await;
    let interaction = hidden(&html, "interaction");
    let form = [("interaction", interaction.as_str()), (field, typed)];
    post(sesame, b, step, "/login/code", &form).await
}

/// A six-digit code that is none of `key`'s codes around `now`.
fn wrong_code(key: &str, now: u64, hours_ago: u64) -> String {
    let wrong = code(key, now - hours_ago * 3600);
    let near = [now - 30, now, now + 30, now + 60].map(|at| code(key, at));
    match near.contains(&wrong) {
        true => wrong_code(key, now, hours_ago + 1),
        false => wrong,
    }
}

pub async fn journey(sesame: &Instance, email: &str, password: &str) -> Vec<Secret> {
    let mut secrets = vec![];
    // Enrolment, the key read off the page; a wrong code, then a right one.
    let laptop = signed_in(sesame, email, password).await;
    let grouped = enrolment_key(sesame, &laptop).await;
    let key: String = grouped.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(key.len(), 32, "{grouped}");
    let now = mid_step().await;
    let wrong = wrong_code(&key, now, 1);
    let refused = post(sesame, &laptop, TOTP, CONFIRM, &[("code", &wrong)]).await;
    assert_eq!(refused.status(), 422);
    let right = code(&key, now);
    let on = post(sesame, &laptop, TOTP, CONFIRM, &[("code", &right)]).await;
    assert_eq!(on.status(), 200);
    let on = unescape(&on.text().await.unwrap());
    let codes: Vec<String> = on
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{on}");
    secrets.push(("TOTP key".into(), key.clone()));
    secrets.push(("TOTP key in groups".into(), grouped));
    secrets.push(("wrong code at enrolment".into(), wrong));
    secrets.push(("code at enrolment".into(), right));

    // A sign-in to the portal: password, a wrong code, then the next step's.
    let phone = browser();
    let auth = sesame.authorize_url("openid", "");
    let login = location(&phone.get(&auth).send().await.unwrap());
    let html = text_of(&phone, sesame.url(&login)).await;
    let interaction = hidden(&html, "interaction");
    let form = [
        ("interaction", interaction.as_str()),
        ("email", email),
        ("password", password),
    ];
    let step = location(&post(sesame, &phone, &login, "/login", &form).await);
    assert!(step.starts_with("/login/code?interaction="), "{step}");
    let wrong = wrong_code(&key, now, 2);
    let refused = answer(sesame, &phone, &step, "code", &wrong).await;
    assert!(unescape(&refused.text().await.unwrap()).contains(REFUSED));
    let next = code(&key, now + 30);
    let mut to = location(&answer(sesame, &phone, &step, "code", &next).await);
    if to.starts_with("/consent") {
        let html = text_of(&phone, sesame.url(&to)).await;
        let interaction = hidden(&html, "interaction");
        let accept = [
            ("interaction", interaction.as_str()),
            ("decision", "accept"),
        ];
        to = location(&post(sesame, &phone, &to, "/consent", &accept).await);
    }
    assert!(to.starts_with(CALLBACK) && to.contains("code="), "{to}");
    secrets.push(("wrong code at sign-in".into(), wrong));
    secrets.push(("code at sign-in".into(), next));

    // A sign-in with a recovery code.
    let tablet = signed_in(sesame, email, password).await;
    let used = answer(sesame, &tablet, "/login/code", "recovery_code", &codes[3]).await;
    assert_eq!(location(&used), "/");

    // Turned off: the password and a wrong code, then a recovery code.
    let disable = "/account/security/totp/disable";
    let wrong = wrong_code(&key, now, 3);
    let form = [("password", password), ("code", wrong.as_str())];
    let refused = post(sesame, &laptop, TOTP, disable, &form).await;
    assert_eq!(refused.status(), 422);
    let form = [("password", password), ("code", codes[5].as_str())];
    let off = post(sesame, &laptop, TOTP, disable, &form).await;
    assert_eq!(location(&off), "/account/security?done=totp_off");
    secrets.push(("wrong code to turn it off".into(), wrong));

    for (n, shown) in codes.into_iter().enumerate() {
        // Stored and compared without its dashes, as typed or as shown.
        secrets.push((format!("recovery code {n} compact"), shown.replace('-', "")));
        secrets.push((format!("recovery code {n}"), shown));
    }
    secrets
}
