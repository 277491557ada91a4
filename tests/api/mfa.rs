//! « Validation en deux étapes »: enrolment from the security page (key as
//! text and QR code, on after one right code, ten recovery codes), the code
//! step after the password with codes computed here from the enrolled key
//! (±30 s accepted, ±90 s refused, no replay, recovery codes once, one
//! clear message for every bad code, then a wait), a factor enrolled in
//! another browser taking effect everywhere, new recovery codes, and
//! turning it off (password and code).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::account::{page, submit};
use crate::helpers::*;

/// What the code step says of any bad code.
pub const REFUSED: &str = "Ce code n'est pas valable";

/// The code of `key` (base32, spaces allowed) at Unix time `at`.
pub fn code(key: &str, at: u64) -> String {
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let secret = totp_rs::Secret::try_from_base32(compact).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .unwrap()
        .generate(at)
        .to_string()
}

/// Now, once at least 4 s away from a step boundary, so the server (a few
/// milliseconds later) sees the same step as the code computed here.
pub async fn mid_step() -> u64 {
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if (4..26).contains(&(now % 30)) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in:\n{html}"))
        + start.len();
    let to = html[from..].find(end).unwrap() + from;
    &html[from..to]
}

/// Enrols the citizen signed in as `b` from the security page: returns the
/// key read off the page and the recovery codes, and the codes page.
pub async fn enrol(server: &TestServer, b: &reqwest::Client) -> (String, Vec<String>) {
    let (key, page) = enrol_from(server, b, "/account/security/totp").await;
    let codes = page
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect();
    (key, codes)
}

/// Starts an enrolment from `from` and confirms it with a right code;
/// returns the key and the page shown after.
pub async fn enrol_from(server: &TestServer, b: &reqwest::Client, from: &str) -> (String, String) {
    let html = page(server, b, from, 200).await;
    let interaction = hidden(&html, "interaction");
    let start = [("interaction", interaction.as_str())];
    let shown = submit(server, b, from, "/account/security/totp/enrol", &start).await;
    assert_eq!(shown.status(), 200);
    let shown = unescape(&shown.text().await.unwrap());
    let key = between(
        &shown,
        "id=\"totp-key\" class=\"totp-key\" aria-describedby=\"key-hint\">",
        "<",
    )
    .to_owned();
    let now = mid_step().await;
    let form = [
        ("interaction", interaction.as_str()),
        ("code", &code(&key, now)),
    ];
    let on = b
        .post(server.url("/account/security/totp/confirm"))
        .form(&[&form[..], &[("csrf", &hidden(&shown, "csrf"))]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), 200);
    (key, unescape(&on.text().await.unwrap()))
}

/// A citizen with a second factor, signed in (password and code) in the
/// browser returned.
pub async fn enrolled(server: &TestServer, email: &str) -> (reqwest::Client, String, Vec<String>) {
    server.add_user(email, true).await;
    let b = browser();
    assert_eq!(submit_login(server, &b, "/login", email).await, "/");
    let (key, codes) = enrol(server, &b).await;
    (b, key, codes)
}

/// Posts `answer` (as `field`) on the code step at `path`.
pub async fn answer(
    server: &TestServer,
    b: &reqwest::Client,
    path: &str,
    field: &str,
    answer: &str,
) -> reqwest::Response {
    let html = text_of(b, server.url(path)).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", hidden(&html, "interaction")),
        (field, answer.to_owned()),
    ];
    b.post(server.url("/login/code"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A new browser that typed `email`'s password on the bare login page:
/// it is sent to the code step.
async fn password_only(server: &TestServer, email: &str) -> reqwest::Client {
    let b = browser();
    assert_eq!(submit_login(server, &b, "/login", email).await, "/");
    let home = b.get(server.url("/")).send().await.unwrap();
    assert_eq!(
        location(&home),
        "/login/code",
        "not signed in before the code"
    );
    b
}

#[tokio::test]
async fn enrolment_shows_the_key_and_a_qr_code_and_turns_on_after_one_right_code() {
    let server = TestServer::start().await;
    let email = "inscription-2fa@example.test";
    server.add_user(email, true).await;
    let b = browser();
    assert_eq!(submit_login(&server, &b, "/login", email).await, "/");
    let security = page(&server, &b, "/account/security", 200).await;
    assert!(security.contains("n'est pas activée"), "{security}");
    let off = page(&server, &b, "/account/security/totp", 200).await;
    assert!(off.contains("Activer la validation en deux étapes"));

    let shown = submit(
        &server,
        &b,
        "/account/security/totp",
        "/account/security/totp/enrol",
        &[],
    )
    .await;
    let shown = unescape(&shown.text().await.unwrap());
    assert!(
        shown.contains("<svg role=\"img\" aria-labelledby=\"qr-title\""),
        "an inline SVG"
    );
    assert!(
        shown.contains("<title id=\"qr-title\">QR code contenant la clé"),
        "a text alternative"
    );
    let key = between(&shown, "aria-describedby=\"key-hint\">", "<").to_owned();
    let groups: Vec<&str> = key.split(' ').collect();
    assert_eq!(groups.len(), 8, "{key}");
    assert!(groups.iter().all(|g| g.len() == 4), "groups of four: {key}");
    assert!(!shown.contains("https://"), "no third-party QR service");

    let wrong = b
        .post(server.url("/account/security/totp/confirm"))
        .form(&[("csrf", hidden(&shown, "csrf")), ("code", "000000".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let wrong = unescape(&wrong.text().await.unwrap());
    assert!(wrong.contains(REFUSED), "{wrong}");
    assert!(wrong.contains(&key), "the same key, to try again");
    let still_off = page(&server, &b, "/account/security", 200).await;
    assert!(
        still_off.contains("n'est pas activée"),
        "not before a right code"
    );

    let now = mid_step().await;
    let on = b
        .post(server.url("/account/security/totp/confirm"))
        .form(&[("csrf", hidden(&wrong, "csrf")), ("code", code(&key, now))])
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), 200);
    let csp = on.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let on = unescape(&on.text().await.unwrap());
    assert_eq!(on.matches("<li><code>").count(), 10, "{on}");
    assert!(on.contains("download=\"codes-de-secours.txt\"") && on.contains("Imprimer"));
    assert!(
        on.contains("<script src=\"/static/print.js\"></script>"),
        "no inline script"
    );
    let script = b.get(server.url("/static/print.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert!(on.contains("Ils ne seront plus jamais affichés"));
    let security = page(&server, &b, "/account/security", 200).await;
    assert!(
        security.contains("La validation en deux étapes est activée."),
        "{security}"
    );
    let manage = page(&server, &b, "/account/security/totp", 200).await;
    assert!(
        manage.contains("Codes de secours restants : 10 sur 10."),
        "{manage}"
    );
    let events = page(&server, &b, "/account/security", 200).await;
    assert!(events.contains("Validation en deux étapes"));
}

#[tokio::test]
async fn the_code_step_follows_the_password_and_a_code_signs_in() {
    let server = TestServer::start().await;
    let email = "code@example.test";
    let (_, key, _) = enrolled(&server, email).await;
    let b = browser();
    let login = location(&b.get(server.url(&auth_path())).send().await.unwrap());
    let callback = submit_login(&server, &b, &login, email).await;
    assert!(
        callback.starts_with("/login/code?interaction="),
        "{callback}"
    );
    let html = page(&server, &b, &callback, 200).await;
    assert!(
        html.contains("autocomplete=\"one-time-code\"") && html.contains("inputmode=\"numeric\"")
    );
    assert!(html.contains("Espace Citoyens"), "the service is named");
    let account = b.get(server.url("/account")).send().await.unwrap();
    assert_eq!(
        location(&account),
        "/login/code",
        "the account waits for the code too"
    );

    // The enrolment used this step's code: the next step's is within reach.
    let now = mid_step().await;
    let next = answer(&server, &b, &callback, "code", &code(&key, now + 30)).await;
    assert_eq!(next.status(), 303);
    assert!(
        location(&next).starts_with("/consent?interaction="),
        "{}",
        location(&next)
    );
    page(&server, &b, "/account", 200).await;
}

/// The authorization request of `rp-basic`, as a path.
fn auth_path() -> String {
    "/authorize?client_id=rp-basic&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid%20email&state=st4te".into()
}

#[tokio::test]
async fn thirty_seconds_of_skew_are_accepted_ninety_refused_and_no_code_twice() {
    let server = TestServer::start().await;
    let email = "horloge@example.test";
    let (_, key, _) = enrolled(&server, email).await;
    // As if enrolled long ago (the enrolment's own code used this step).
    let forget = "UPDATE totp SET last_step = 0";
    server
        .app
        .store
        .run(move |tx| tx.execute_sql(forget))
        .await
        .unwrap();
    let now = mid_step().await;
    for (dt, accepted) in [
        (90, false),
        (-90, false),
        (-30, true),
        (-30, false),
        (30, true),
    ] {
        let b = password_only(&server, email).await;
        let at = now.checked_add_signed(dt).unwrap();
        let r = answer(&server, &b, "/login/code", "code", &code(&key, at)).await;
        if accepted {
            assert_eq!(
                (r.status(), location(&r).as_str()),
                (reqwest::StatusCode::SEE_OTHER, "/"),
                "{dt} s"
            );
        } else {
            assert_eq!(r.status(), 200, "{dt} s");
            assert!(
                unescape(&r.text().await.unwrap()).contains(REFUSED),
                "{dt} s"
            );
        }
    }
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_every_change_is_mailed() {
    let (server, sink) = crate::signup::with_smtp("").await;
    let email = "secours@example.test";
    let (b, key, codes) = enrolled(&server, email).await;
    let on = sink.next_to(email, 0).await;
    assert_eq!(
        on.subject(),
        "Espace Citoyens - Validation en deux étapes activée"
    );
    assert!(on.text().contains("/password/forgot"), "{}", on.text());

    let other = password_only(&server, email).await;
    let typed = codes[3].to_uppercase();
    let used = answer(&server, &other, "/login/code", "recovery_code", &typed).await;
    assert_eq!(location(&used), "/");
    let manage = page(&server, &other, "/account/security/totp", 200).await;
    assert!(
        manage.contains("Codes de secours restants : 9 sur 10."),
        "{manage}"
    );
    let notice = sink.next_to(email, 1).await;
    assert_eq!(
        notice.subject(),
        "Espace Citoyens - Un code de secours a été utilisé"
    );
    assert!(!notice.text().contains(&codes[3]), "never the code itself");

    let again = password_only(&server, email).await;
    let refused = answer(&server, &again, "/login/code", "recovery_code", &codes[3]).await;
    assert_eq!(refused.status(), 200);
    assert!(unescape(&refused.text().await.unwrap()).contains(REFUSED));

    let now = mid_step().await;
    let form = [("password", PASSWORD), ("code", &code(&key, now + 30))];
    let off = submit(
        &server,
        &b,
        "/account/security/totp",
        "/account/security/totp/disable",
        &form,
    )
    .await;
    assert_eq!(off.status(), 303);
    let off = sink.next_to(email, 2).await;
    assert_eq!(
        off.subject(),
        "Espace Citoyens - Validation en deux étapes désactivée"
    );
}

#[tokio::test]
async fn bad_codes_get_one_clear_message_then_a_wait() {
    let server = TestServer::start().await;
    let email = "mauvais@example.test";
    let (_, key, _) = enrolled(&server, email).await;
    let now = mid_step().await;
    let used = code(&key, now + 30);
    let first = password_only(&server, email).await;
    assert_eq!(
        location(&answer(&server, &first, "/login/code", "code", &used).await),
        "/"
    );

    let b = password_only(&server, email).await;
    let wrong = if used == "123456" { "654321" } else { "123456" };
    let expired = code(&key, now - 120);
    let long = "1".repeat(20_000);
    for (what, typed) in [
        ("wrong", wrong),
        ("expired", expired.as_str()),
        ("replayed", used.as_str()),
        ("non-numeric", "abc123"),
        ("over-long", long.as_str()),
    ] {
        let r = answer(&server, &b, "/login/code", "code", typed).await;
        assert_eq!(r.status(), 200, "{what}");
        let html = unescape(&r.text().await.unwrap());
        assert!(html.contains(REFUSED), "{what}: {html}");
        assert!(html.contains("aria-invalid=\"true\""), "{what}");
    }
    // The sixth wrong answer earns a wait; the next one is not looked at.
    let sixth = answer(&server, &b, "/login/code", "code", wrong).await;
    assert_eq!(sixth.status(), 200);
    let next = code(&key, mid_step().await + 30);
    let waited = answer(&server, &b, "/login/code", "code", &next).await;
    assert_eq!(waited.status(), 429);
    assert!(waited.headers().contains_key("retry-after"));
    assert!(
        waited
            .text()
            .await
            .unwrap()
            .contains("Trop de codes incorrects")
    );
}

#[tokio::test]
async fn a_factor_enrolled_in_another_browser_takes_effect_everywhere() {
    let server = TestServer::start().await;
    let email = "partout@example.test";
    server.add_user(email, true).await;
    let laptop = browser();
    assert_eq!(submit_login(&server, &laptop, "/login", email).await, "/");
    page(&server, &laptop, "/account", 200).await;
    let phone = browser();
    assert_eq!(submit_login(&server, &phone, "/login", email).await, "/");
    let (key, _) = enrol(&server, &phone).await;
    page(&server, &phone, "/account", 200).await;

    let account = laptop.get(server.url("/account")).send().await.unwrap();
    assert_eq!(location(&account), "/login/code");
    let flow = laptop.get(server.url(&auth_path())).send().await.unwrap();
    let step = location(&flow);
    assert!(
        step.starts_with("/login/code?interaction="),
        "a step-up, not a new sign-in: {step}"
    );
    let now = mid_step().await;
    let next = answer(&server, &laptop, &step, "code", &code(&key, now + 30)).await;
    assert!(
        location(&next).starts_with("/consent"),
        "{}",
        location(&next)
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_set() {
    let server = TestServer::start().await;
    let email = "nouveaux@example.test";
    let (b, _, old) = enrolled(&server, email).await;
    let renewed = submit(
        &server,
        &b,
        "/account/security/totp",
        "/account/security/totp/recovery-codes",
        &[],
    )
    .await;
    assert_eq!(renewed.status(), 200);
    let renewed = unescape(&renewed.text().await.unwrap());
    let new: Vec<String> = renewed
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(new.len(), 10);
    let other = password_only(&server, email).await;
    let dead = answer(&server, &other, "/login/code", "recovery_code", &old[0]).await;
    assert!(
        unescape(&dead.text().await.unwrap()).contains(REFUSED),
        "the old set died"
    );
    let live = answer(&server, &other, "/login/code", "recovery_code", &new[0]).await;
    assert_eq!(location(&live), "/");
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let server = TestServer::start().await;
    let email = "desactiver@example.test";
    let (b, key, codes) = enrolled(&server, email).await;
    let from = "/account/security/totp";
    let to = "/account/security/totp/disable";
    let no_password = submit(
        &server,
        &b,
        from,
        to,
        &[("password", "Pas-Le-Bon-1"), ("code", &codes[0])],
    )
    .await;
    assert_eq!(no_password.status(), 422);
    assert!(unescape(&no_password.text().await.unwrap()).contains("Mot de passe incorrect."));
    let no_code = submit(
        &server,
        &b,
        from,
        to,
        &[("password", PASSWORD), ("code", "12ab")],
    )
    .await;
    assert_eq!(no_code.status(), 422);
    assert!(unescape(&no_code.text().await.unwrap()).contains(REFUSED));
    let still = page(&server, &b, from, 200).await;
    assert!(
        still.contains("Codes de secours restants : 10 sur 10."),
        "nothing changed"
    );

    let now = mid_step().await;
    let off = submit(
        &server,
        &b,
        from,
        to,
        &[("password", PASSWORD), ("code", &code(&key, now + 30))],
    )
    .await;
    assert_eq!(location(&off), "/account/security?done=totp_off");
    let security = page(&server, &b, "/account/security?done=totp_off", 200).await;
    assert!(security.contains("La validation en deux étapes est désactivée."));
    let again = browser();
    assert_eq!(submit_login(&server, &again, "/login", email).await, "/");
    page(&server, &again, "/account", 200).await;
}

#[tokio::test]
async fn the_export_tells_the_state_and_deletion_needs_a_code_too() {
    let server = TestServer::start().await;
    let email = "export-2fa@example.test";
    let (b, key, _) = enrolled(&server, email).await;
    let export = b
        .get(server.url("/account/data/export"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(data["second_factor"]["enabled"], true);
    assert_eq!(data["second_factor"]["recovery_codes_left"], 10);
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(!export.contains(&compact), "never the key");

    let form = page(&server, &b, "/account/data", 200).await;
    assert!(
        form.contains("name=\"totp\""),
        "the deletion asks for a code"
    );
    let from = "/account/data";
    let to = "/account/data/delete";
    let no_code = submit(
        &server,
        &b,
        from,
        to,
        &[("password", PASSWORD), ("totp", "000000")],
    )
    .await;
    assert_eq!(no_code.status(), 401);
    assert!(
        unescape(&no_code.text().await.unwrap())
            .contains("Le code de validation en deux étapes est incorrect.")
    );
    page(&server, &b, "/account", 200).await;
    let now = mid_step().await;
    let gone = submit(
        &server,
        &b,
        from,
        to,
        &[("password", PASSWORD), ("totp", &code(&key, now + 30))],
    )
    .await;
    assert_eq!(gone.status(), 200);
    let again = browser();
    let refused = post_bare_login(&server, &again, email, PASSWORD).await;
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Courriel ou mot de passe incorrect.")
    );
}

#[tokio::test]
async fn a_password_reset_by_email_link_still_asks_for_the_code() {
    let (server, sink) = crate::signup::with_smtp("").await;
    let email = "oubli-2fa@example.test";
    let (_, key, _) = enrolled(&server, email).await;
    let b = browser();
    let (status, _) = crate::reset::forgot(&server, &b, email, None).await;
    assert_eq!(status, 200);
    let link = crate::reset::reset_link(&server, &sink, 2).await;
    let new = crate::reset::NEW_PASSWORD;
    let done = crate::reset::choose(&server, &b, &link, new, new).await;
    assert_eq!(done.status(), 200);
    let home = b.get(server.url("/")).send().await.unwrap();
    assert_eq!(
        location(&home),
        "/login/code",
        "the mailbox alone is not the second factor"
    );
    let account = b.get(server.url("/account")).send().await.unwrap();
    assert_eq!(location(&account), "/login/code");
    let now = mid_step().await;
    let r = answer(&server, &b, "/login/code", "code", &code(&key, now + 30)).await;
    assert_eq!(location(&r), "/");
    page(&server, &b, "/account", 200).await;
}
