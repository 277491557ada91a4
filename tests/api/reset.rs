//! « Mot de passe oublié ? »: the mail and its link, the new
//! password under the policy, every session of the account ended, signed
//! in again (resuming a pending request), single use, expiry, and the same
//! answer for known and unknown addresses.

use crate::helpers::*;
use crate::mailbox::SmtpSink;
use crate::signup::{NO_LIMITS, finish, start_request, with_smtp};

pub(crate) const NEW_PASSWORD: &str = "Gentiane-Tram-58";

/// Asks for a reset of `email` from `b` (for `interaction`, if any).
pub(crate) async fn forgot(
    server: &TestServer,
    b: &reqwest::Client,
    email: &str,
    interaction: Option<&str>,
) -> (reqwest::StatusCode, String) {
    let query = interaction
        .map(|id| format!("?interaction={id}"))
        .unwrap_or_default();
    let html = b
        .get(server.url(&format!("/password/forgot{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Mot de passe oublié"), "{html}");
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", interaction.unwrap_or_default().to_owned()),
        ("email", email.to_owned()),
    ];
    let response = b
        .post(server.url("/password/forgot"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

pub(crate) async fn reset_link(server: &TestServer, sink: &SmtpSink, n: usize) -> String {
    let mail = sink.nth(n).await;
    assert_eq!(
        mail.subject(),
        "Espace Citoyens - Réinitialisation de votre mot de passe"
    );
    assert!(mail.text().contains("Ce lien expirera dans 5 minutes."));
    mail.link(&server.url("/password/reset?token="))
}

/// Opens the reset link in `b` and submits `password` / `confirm`.
pub(crate) async fn choose(
    server: &TestServer,
    b: &reqwest::Client,
    link: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    let page = b.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Choisir un nouveau mot de passe"));
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("token", hidden(&html, "token")),
        ("password", password.to_owned()),
        ("password_confirm", confirm.to_owned()),
    ];
    b.post(server.url("/password/reset"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn login(server: &TestServer, email: &str, password: &str) -> reqwest::StatusCode {
    let b = browser();
    let html = text_of(&b, server.url("/login")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
        ("password", password.to_owned()),
    ];
    b.post(server.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn reset_ends_every_session_and_signs_in_with_the_new_password() {
    let (server, sink) = with_smtp("").await;
    let (other_device, tokens) = signed_in(&server, "lost@example.test").await;
    let home = |b: reqwest::Client| {
        let url = server.url("/");
        async move { text_of(&b, url).await }
    };
    assert!(
        home(other_device.clone())
            .await
            .contains("lost@example.test")
    );

    let b = browser();
    let (status, _) = forgot(&server, &b, "lost@example.test", None).await;
    assert_eq!(status, 200);
    let link = reset_link(&server, &sink, 1).await;
    let done = choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert!(unescape(&done.text().await.unwrap()).contains("Votre mot de passe a été modifié"));

    assert!(
        home(b.clone()).await.contains("lost@example.test"),
        "signed in here"
    );
    assert!(
        !home(other_device).await.contains("lost@example.test"),
        "the other session was ended"
    );
    assert_eq!(
        login(&server, "lost@example.test", PASSWORD).await,
        200,
        "old password refused"
    );
    assert_eq!(login(&server, "lost@example.test", NEW_PASSWORD).await, 303);
    let old_token = tokens["access_token"].as_str().unwrap();
    let userinfo = rp_http()
        .get(server.url("/userinfo"))
        .bearer_auth(old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        401,
        "the ended session's access token is revoked"
    );
    // Single use.
    let again = b.get(&link).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(unescape(&again.text().await.unwrap()).contains("Ce lien a déjà été utilisé"));
}

#[tokio::test]
async fn reset_resumes_the_pending_request() {
    let (server, sink) = with_smtp("").await;
    server.add_user("resume@example.test", true).await;
    let b = browser();
    let id = start_request(&server, &b).await;
    let login_page = b
        .get(server.url(&format!("/login?interaction={id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login_page.contains(&format!("&#x2f;password&#x2f;forgot?interaction={id}")));
    forgot(&server, &b, "resume@example.test", Some(&id)).await;
    let link = reset_link(&server, &sink, 1).await;
    let done = choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 303);
    let next = location(&done);
    assert!(
        next.starts_with(&format!("/consent?interaction={id}")),
        "{next}"
    );
    let callback = finish(&server, &b, next, "resume@example.test", NEW_PASSWORD).await;
    assert!(query(&callback).contains_key("code"));
}

#[tokio::test]
async fn the_new_password_follows_the_policy_and_its_confirmation() {
    let (server, sink) = with_smtp("").await;
    server.add_user("policy@example.test", true).await;
    let b = browser();
    forgot(&server, &b, "policy@example.test", None).await;
    let link = reset_link(&server, &sink, 1).await;
    for (password, confirm, message) in [
        (
            "Azerty123",
            "Azerty123",
            "Ce mot de passe fait partie des plus courants",
        ),
        ("short1A", "short1A", "au moins 8 caractères"),
        (
            "Nathalie-Tram7",
            "Nathalie-Tram7",
            "ni votre nom, ni votre prénom",
        ),
        (
            NEW_PASSWORD,
            "Gentiane-Tram-59",
            "Les mots de passe sont différents.",
        ),
    ] {
        let response = choose(&server, &b, &link, password, confirm).await;
        assert_eq!(response.status(), 200);
        let html = unescape(&response.text().await.unwrap());
        assert!(html.contains(message), "{password}: {message}\n{html}");
        assert!(html.contains("aria-invalid=\"true\""));
    }
    let done = choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200, "the link still works after refusals");
}

#[tokio::test]
async fn expired_reset_link_offers_a_new_one() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    server.add_user("expired@example.test", true).await;
    let b = browser();
    forgot(&server, &b, "expired@example.test", None).await;
    let link = reset_link(&server, &sink, 1).await;
    server
        .app
        .store
        .run(|conn| conn.execute_sql("UPDATE email_tokens SET expires_at = 0"))
        .await
        .unwrap();
    let dead = b.get(&link).send().await.unwrap();
    assert_eq!(dead.status(), 400);
    let html = dead.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("token", hidden(&html, "token")),
    ];
    let renewed = b
        .post(server.url("/link/renew"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), 200);
    let fresh = reset_link(&server, &sink, 2).await;
    let done = choose(&server, &b, &fresh, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
}

#[tokio::test]
async fn forgot_answers_the_same_for_known_and_unknown_addresses() {
    let (server, sink) = with_smtp("").await;
    server.add_user("known@example.test", true).await;
    let b = browser();
    let mut answers = Vec::new();
    for email in ["known@example.test", "unknown@example.test"] {
        let (status, page) = forgot(&server, &b, email, None).await;
        assert!(
            unescape(&page).contains("Si un compte existe pour cette adresse"),
            "{status} {page}"
        );
        answers.push((
            status,
            page.replace(email, "EMAIL")
                .replace(&hidden(&page, "csrf"), "CSRF"),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    sink.nth(1).await;
    sink.assert_quiet(1).await;
    assert_eq!(sink.all()[0].to, vec!["known@example.test".to_owned()]);
}

#[tokio::test]
async fn a_reset_of_an_unverified_account_verifies_it() {
    let (server, sink) = with_smtp("").await;
    server.add_user("unverified@example.test", false).await;
    let b = browser();
    forgot(&server, &b, "unverified@example.test", None).await;
    let link = reset_link(&server, &sink, 1).await;
    choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        login(&server, "unverified@example.test", NEW_PASSWORD).await,
        303,
        "the mailbox was proven"
    );
}
