//! The second factor's part of the whole journey, walked as a citizen
//! would: enrolment on the security page (the key read off the page as
//! text, a wrong code, then a right one), a sign-in to a service with a
//! wrong code then a right one, a sign-in with a recovery code, and
//! turning the factor off (a wrong code, then a recovery code). Returns
//! everything secret that was shown or typed, for the log to be searched.

use crate::common::totp::{code, mid_step};
use crate::common::web::{browser, hidden, location, text_of, unescape};
use crate::process::{CALLBACK, Instance};

/// What the code step and the enrolment say of a bad code.
const REFUSED: &str = "Ce code n'est pas valable";

/// A secret of the journey: what it is, and its text.
pub type Secret = (String, String);

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in:\n{html}"))
        + start.len();
    let to = html[from..].find(end).unwrap() + from;
    &html[from..to]
}

/// Signs in on the bare login page in a new browser; returns it.
async fn signed_in(sesame: &Instance, email: &str, password: &str) -> reqwest::Client {
    let b = browser();
    let html = text_of(&b, sesame.url("/login")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
        ("password", password.to_owned()),
    ];
    let answer = b
        .post(sesame.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&answer), "/");
    b
}

/// Posts `form` and the CSRF token of the page at `page` to `to`.
async fn post(
    sesame: &Instance,
    b: &reqwest::Client,
    page: &str,
    to: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let html = text_of(b, sesame.url(page)).await;
    let csrf = hidden(&html, "csrf");
    let form = [form, &[("csrf", csrf.as_str())]].concat();
    b.post(sesame.url(to)).form(&form).send().await.unwrap()
}

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
    let totp = "/account/security/totp";
    let shown = post(sesame, &laptop, totp, "/account/security/totp/enrol", &[]).await;
    assert_eq!(shown.status(), 200);
    let shown = unescape(&shown.text().await.unwrap());
    let grouped = between(&shown, "id=\"totp-key\" class=\"totp-key\"", "</code>");
    let grouped = grouped.rsplit('>').next().unwrap().to_owned();
    let key: String = grouped.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(key.len(), 32, "{grouped}");
    let now = mid_step().await;
    let confirm = "/account/security/totp/confirm";
    let wrong = wrong_code(&key, now, 1);
    let refused = post(sesame, &laptop, totp, confirm, &[("code", &wrong)]).await;
    assert_eq!(refused.status(), 422);
    let right = code(&key, now);
    let on = post(sesame, &laptop, totp, confirm, &[("code", &right)]).await;
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
    let refused = post(sesame, &laptop, totp, disable, &form).await;
    assert_eq!(refused.status(), 422);
    let form = [("password", password), ("code", codes[5].as_str())];
    let off = post(sesame, &laptop, totp, disable, &form).await;
    assert_eq!(location(&off), "/account/security?done=totp_off");
    secrets.push(("wrong code to turn it off".into(), wrong));

    for (n, shown) in codes.into_iter().enumerate() {
        // Stored and compared without its dashes, as typed or as shown.
        secrets.push((format!("recovery code {n} compact"), shown.replace('-', "")));
        secrets.push((format!("recovery code {n}"), shown));
    }
    secrets
}
