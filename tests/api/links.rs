//! The activation link's rules: expired → renewal page → new
//! link works; a used link fails; an earlier link fails after a resend;
//! unverified accounts cannot sign in and are offered a new link; no
//! account enumeration at sign-up; the abuse limits; old unverified
//! accounts removed.

use crate::helpers::*;
use crate::signup::{
    NO_LIMITS, activate, citizen, finish, start_request, submit_signup, verify_link, with_smtp,
};

/// Posts the one-button form of `html` (resend, renew) with its fields.
async fn press(
    server: &TestServer,
    b: &reqwest::Client,
    html: &str,
    action: &str,
) -> reqwest::Response {
    let mut form = vec![("csrf".to_owned(), hidden(html, "csrf"))];
    for name in ["email", "interaction", "token"] {
        if html.contains(&format!("name=\"{name}\" value=\"")) {
            form.push((name.to_owned(), hidden(html, name)));
        }
    }
    assert!(
        html.contains(&format!("action=\"{}\"", action.replace('/', "&#x2f;"))),
        "{html}"
    );
    b.post(server.url(action)).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn expired_link_gets_a_page_that_sends_a_fresh_one_which_works() {
    let (server, sink) = with_smtp("[policy]\nverification_ttl_seconds = 120\n").await;
    let b = browser();
    let id = start_request(&server, &b).await;
    submit_signup(&server, &b, Some(&id), citizen("late@example.test", &[])).await;
    let first = sink.nth(1).await;
    assert!(
        first.text().contains("Ce lien expirera dans 2 minutes."),
        "the figure follows the setting"
    );
    let link = verify_link(&server, &first);
    // Time passes (the clock is moved, not waited for).
    server
        .app
        .store
        .run(|conn| conn.execute_sql("UPDATE email_tokens SET expires_at = expires_at - 121"))
        .await
        .unwrap();
    let dead = b.get(&link).send().await.unwrap();
    assert_eq!(dead.status(), 400);
    let html = dead.text().await.unwrap();
    let text = unescape(&html);
    assert!(
        text.contains("Lien expiré ou déjà utilisé") && text.contains("Ce lien a expiré"),
        "{text}"
    );
    assert!(text.contains("M'envoyer un nouveau lien"));
    // Sending (a minute later, so the per-address limit lets it through).
    server
        .app
        .store
        .run(|conn| conn.execute_sql("UPDATE mail_requests SET created_at = created_at - 61"))
        .await
        .unwrap();
    let renewed = press(&server, &b, &html, "/link/renew").await;
    assert_eq!(renewed.status(), 200);
    assert!(unescape(&renewed.text().await.unwrap()).contains("Nouveau lien envoyé"));
    let fresh = verify_link(&server, &sink.nth(2).await);
    assert_ne!(fresh, link);
    let opened = activate(&server, &b, &fresh, &[]).await;
    assert_eq!(
        opened.status(),
        303,
        "the new link works and resumes the request"
    );
    let callback = finish(
        &server,
        &b,
        location(&opened),
        "late@example.test",
        PASSWORD,
    )
    .await;
    assert!(query(&callback).contains_key("code"));
}

#[tokio::test]
async fn renewal_is_rate_limited() {
    let (server, sink) = with_smtp("").await;
    let b = browser();
    submit_signup(&server, &b, None, citizen("hasty@example.test", &[])).await;
    let link = verify_link(&server, &sink.nth(1).await);
    server
        .app
        .store
        .run(|conn| conn.execute_sql("UPDATE email_tokens SET expires_at = 0"))
        .await
        .unwrap();
    let html = text_of(&b, &link).await;
    let refused = press(&server, &b, &html, "/link/renew").await;
    let text = unescape(&refused.text().await.unwrap());
    assert!(
        text.contains("Un courriel vient déjà d'être envoyé à cette adresse"),
        "{text}"
    );
    sink.assert_quiet(1).await;
}

#[tokio::test]
async fn a_used_link_fails() {
    let (server, sink) = with_smtp("").await;
    let b = browser();
    submit_signup(&server, &b, None, citizen("once@example.test", &[])).await;
    let link = verify_link(&server, &sink.nth(1).await);
    assert_eq!(activate(&server, &b, &link, &[]).await.status(), 200);
    let other = browser();
    let again = other.get(&link).send().await.unwrap();
    let text = unescape(&again.text().await.unwrap());
    assert!(text.contains("déjà vérifiée"), "{text}");
    let home = text_of(&other, server.url("/")).await;
    assert!(
        home.contains("Vous n'êtes pas connecté(e).")
            || unescape(&home).contains("Vous n'êtes pas connecté(e)."),
        "a used link signs nobody in"
    );
    let used: i64 = server
        .app
        .store
        .run(|conn| conn.query_i64("SELECT COUNT(*) FROM email_tokens WHERE used_at IS NOT NULL"))
        .await
        .unwrap();
    assert_eq!(used, 1);
}

#[tokio::test]
async fn an_earlier_link_fails_after_a_resend() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    let b = browser();
    let (_, page) = submit_signup(&server, &b, None, citizen("twice@example.test", &[])).await;
    let first = verify_link(&server, &sink.nth(1).await);
    let resent = press(&server, &b, &page, "/signup/resend").await;
    assert_eq!(resent.status(), 200);
    assert!(
        unescape(&resent.text().await.unwrap())
            .contains("Un nouveau courriel vient de vous être envoyé")
    );
    let second = verify_link(&server, &sink.nth(2).await);
    let old = b.get(&first).send().await.unwrap();
    assert_eq!(old.status(), 400);
    assert!(unescape(&old.text().await.unwrap()).contains("un lien plus récent l'a remplacé"));
    assert_eq!(
        activate(&server, &b, &second, &[]).await.status(),
        200,
        "the latest link works"
    );
}

#[tokio::test]
async fn unverified_login_is_refused_and_offered_a_new_link() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    let signup_browser = browser();
    submit_signup(
        &server,
        &signup_browser,
        None,
        citizen("slow@example.test", &[]),
    )
    .await;
    sink.nth(1).await;
    let b = browser();
    let id = start_request(&server, &b).await;
    let html = b
        .get(server.url(&format!("/login?interaction={id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", id.clone()),
        ("email", "slow@example.test".into()),
        ("password", PASSWORD.into()),
    ];
    let refused = b
        .post(server.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 200, "no session, no redirect");
    let page = refused.text().await.unwrap();
    let text = unescape(&page);
    assert!(
        text.contains("Vous devez vérifier votre courriel pour activer votre compte."),
        "{text}"
    );
    assert!(text.contains("Cliquez ici pour renvoyer le courriel."));
    let resent = press(&server, &b, &page, "/signup/resend").await;
    assert_eq!(resent.status(), 200);
    let link = verify_link(&server, &sink.nth(2).await);
    let opened = activate(&server, &b, &link, &[]).await;
    assert_eq!(
        opened.status(),
        303,
        "this browser proved the password: signed in"
    );
    let callback = finish(
        &server,
        &b,
        location(&opened),
        "slow@example.test",
        PASSWORD,
    )
    .await;
    assert!(query(&callback).contains_key("code"));
}

#[tokio::test]
async fn signup_with_a_taken_address_looks_the_same_and_mails_the_owner() {
    let (server, sink) = with_smtp("").await;
    server.add_user("taken@example.test", true).await;
    let b = browser();
    let mut answers = Vec::new();
    for email in ["taken@example.test", "fresh@example.test"] {
        let (status, page) = submit_signup(&server, &b, None, citizen(email, &[])).await;
        answers.push((
            status,
            page.replace(email, "EMAIL")
                .replace(&hidden(&page, "csrf"), "CSRF"),
        ));
    }
    assert_eq!(
        answers[0], answers[1],
        "no difference reveals whether an account exists"
    );
    let owner = sink.next_to("taken@example.test", 0).await;
    assert_eq!(
        owner.subject(),
        "Espace Citoyens - Votre compte existe déjà"
    );
    let reset_link = owner.link(&server.url("/password/reset?token="));
    let newcomer = sink.next_to("fresh@example.test", 0).await;
    assert_eq!(
        newcomer.subject(),
        "Espace Citoyens - Création de votre compte"
    );
    let form = browser().get(&reset_link).send().await.unwrap();
    assert_eq!(
        form.status(),
        200,
        "the reset link of the « compte existant » mail works"
    );
    let still = server
        .app
        .store
        .run(|conn| sesame::store::users::by_email(conn, "taken@example.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.given_name.as_deref(),
        Some("Nathalie"),
        "the existing account is untouched"
    );
}

#[tokio::test]
async fn mail_limits_per_account_and_per_ip() {
    let (server, sink) = with_smtp("[policy]\nmail_max_per_ip_per_hour = 3\n").await;
    let b = browser();
    let (_, page) = submit_signup(&server, &b, None, citizen("limited@example.test", &[])).await;
    sink.nth(1).await;
    // Per account: a second mail within the minute is refused.
    let refused = press(&server, &b, &page, "/signup/resend").await;
    let text = unescape(&refused.text().await.unwrap());
    assert!(
        text.contains("Un courriel vient déjà d'être envoyé à cette adresse. Merci de patienter"),
        "{text}"
    );
    sink.assert_quiet(1).await;
    // Per IP: three requests an hour, then a clear message and no mail.
    for email in ["a@example.test", "b@example.test"] {
        let (status, _) = submit_signup(&server, &b, None, citizen(email, &[])).await;
        assert_eq!(status, 200);
    }
    sink.nth(3).await;
    let (status, html) = submit_signup(&server, &b, None, citizen("c@example.test", &[])).await;
    assert_eq!(status, 429);
    assert!(
        unescape(&html).contains("Trop de courriels ont été demandés depuis votre connexion."),
        "{html}"
    );
    sink.assert_quiet(3).await;
    let created = server
        .app
        .store
        .run(|conn| sesame::store::users::by_email(conn, "c@example.test"))
        .await
        .unwrap();
    assert!(
        created.is_none(),
        "a refused request leaves the database as it was"
    );
}

#[tokio::test]
async fn unverified_accounts_are_removed_after_the_configured_age() {
    let (server, sink) = with_smtp("[policy]\nunverified_account_ttl_days = 2\n").await;
    submit_signup(
        &server,
        &browser(),
        None,
        citizen("ghost@example.test", &[]),
    )
    .await;
    sink.nth(1).await;
    let now = sesame::app::now();
    let removed = server
        .app
        .store
        .run(move |conn| sesame::accounts::links::housekeeping(conn, now + 86_400, 2))
        .await
        .unwrap();
    assert_eq!(removed, 0, "one day old: kept");
    let removed = server
        .app
        .store
        .run(move |conn| sesame::accounts::links::housekeeping(conn, now + 2 * 86_400 + 1, 2))
        .await
        .unwrap();
    assert_eq!(removed, 1, "two days old: removed");
    // The address can be used again: a new account, a new activation mail.
    server
        .app
        .store
        .run(|conn| conn.execute_sql("DELETE FROM mail_requests"))
        .await
        .unwrap();
    submit_signup(
        &server,
        &browser(),
        None,
        citizen("ghost@example.test", &[]),
    )
    .await;
    assert_eq!(
        sink.nth(2).await.subject(),
        "Espace Citoyens - Création de votre compte"
    );
}

/// Hostile or stale input on the account endpoints: a page, never a 5xx.
#[tokio::test]
async fn hostile_input_on_account_pages_never_fails() {
    let server = TestServer::start().await;
    let b = browser();
    let garbage = "%ff%00<script>&interaction=x&token=zz&email=%00@&csrf=";
    for path in [
        "/signup?interaction=nope",
        "/signup?lang=xx",
        "/verify",
        "/verify?token=",
        "/verify?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/password/forgot?interaction=%00",
        "/password/reset",
        "/password/reset?token=%ff",
    ] {
        let status = b.get(server.url(path)).send().await.unwrap().status();
        assert!(
            status.is_success() || status.is_client_error(),
            "GET {path}: {status}"
        );
    }
    for path in [
        "/signup",
        "/signup/resend",
        "/link/renew",
        "/password/forgot",
        "/password/reset",
    ] {
        for body in ["", garbage, "password=a&password=b&password_confirm=a"] {
            let status = b
                .post(server.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status();
            assert!(
                status.is_client_error() || status.is_success(),
                "POST {path} {body}: {status}"
            );
        }
    }
}
