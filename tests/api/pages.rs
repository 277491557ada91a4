//! The pages a citizen sees: both languages, accessible markup, security
//! headers, CSRF, and the login's answers.

use sesame::http::pages::{Pages, TEMPLATES};
use sesame::i18n::Lang;

use crate::helpers::*;

#[test]
fn every_template_renders_in_both_languages() {
    let pages = Pages::new(sesame::http::paths::STYLESHEET).unwrap();
    let context = serde_json::json!({
        "action": "/x", "csrf": "c", "interaction": "i", "email": "e@x.fr", "error": "oops",
        "client_name": "Espace Citoyens", "forgot_href": "/f", "signup_href": "/s",
        "items": ["Courriel"], "privacy_policy_url": "https://example.org/p",
        "title": "T", "message": "M", "detail": "D", "reference": "R",
        "paragraphs": ["P"], "link_href": "/l", "link_label": "L",
        "redirect_uri": "https://rp/cb", "fields": [["code", "c"], ["state", "s"]],
        "form": {"values": {"civilite": "female", "family_name": "F", "given_name": "G", "email": "e@x.fr"},
                 "errors": {"civilite": ["E"], "family_name": [], "given_name": [], "email": ["E"], "password": ["E"], "password_confirm": []},
                 "problems": [{"field": "email", "label": "Courriel", "message": "E"}], "password_hint": "H",
                 "strength": {"script": "/static/strength.js?v=0", "rules": [{"id": "length", "label": "L", "figure": 8}, {"id": "common", "label": "C", "figure": null}]}},
        "login_href": "/login", "token": "tk", "notice": {"text": "N", "error": true},
        "mode": "password", "switch_href": "/v", "logout_href": "/logout",
        "button": {"action": "/b", "fields": [["email", "e@x.fr"]], "question": "Q", "label": "B"},
    });
    for (name, _) in TEMPLATES {
        // The account pages have a context of their own (tests/api/account.rs).
        if *name == "base.html" || name.starts_with('_') || name.starts_with("account/") {
            continue;
        }
        for lang in Lang::ALL {
            let html = pages
                .render_string(name, lang, "/here", &context)
                .unwrap_or_else(|e| panic!("{name} {lang:?}: {e:#}"));
            assert!(
                html.contains(&format!("<html lang=\"{}\">", lang.code())),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn pages_are_not_framable_and_forms_carry_csrf() {
    let server = TestServer::start().await;
    let response = browser().get(server.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let html = response.text().await.unwrap();
    assert!(!hidden(&html, "csrf").is_empty());
    assert!(
        html.contains("<label for=\"email\">Courriel</label>") && html.contains("id=\"email\"")
    );
    assert!(
        html.contains("<label for=\"password\">Mot de passe</label>")
            && html.contains("id=\"password\"")
    );
    assert!(html.contains("Mot de passe oublié ?") && html.contains("Créer un compte"));
    assert!(html.contains("English"), "language choice");
}

#[tokio::test]
async fn login_answers_the_same_for_unknown_email_and_wrong_password() {
    let server = TestServer::start().await;
    server.add_user("known@example.test", true).await;
    let b = browser();
    let mut answers = Vec::new();
    for (email, password) in [
        ("known@example.test", "Wrong-Password-1"),
        ("unknown@example.test", PASSWORD),
    ] {
        let html = text_of(&b, server.url("/login")).await;
        let form = [
            ("csrf", hidden(&html, "csrf")),
            ("interaction", String::new()),
            ("email", email.into()),
            ("password", password.into()),
        ];
        let response = b
            .post(server.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let page = response.text().await.unwrap();
        assert!(
            page.contains("Courriel ou mot de passe incorrect."),
            "{page}"
        );
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
}

#[tokio::test]
async fn login_without_csrf_is_refused_and_sessions_use_safe_cookies() {
    let server = TestServer::start().await;
    server.add_user("csrf@example.test", true).await;
    let b = browser();
    let html = text_of(&b, server.url("/login")).await;
    let forged = [
        ("csrf", "x".repeat(43)),
        ("email", "csrf@example.test".into()),
        ("password", PASSWORD.into()),
    ];
    let response = b
        .post(server.url("/login"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Le formulaire a expiré")
    );

    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", "csrf@example.test".into()),
        ("password", PASSWORD.into()),
    ];
    let response = b
        .post(server.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("sesame_session="))
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "http issuer: no Secure flag");
    let home = text_of(&b, server.url("/")).await;
    assert!(home.contains("csrf@example.test"), "signed in");
}

#[tokio::test]
async fn unverified_accounts_cannot_sign_in() {
    let server = TestServer::start().await;
    server.add_user("new@example.test", false).await;
    let b = browser();
    let html = text_of(&b, server.url("/login")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("email", "new@example.test".into()),
        ("password", PASSWORD.into()),
    ];
    let page = b
        .post(server.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Vous devez vérifier votre courriel pour activer votre compte"),
        "{page}"
    );
}

#[tokio::test]
async fn language_choice_switches_and_is_remembered() {
    let server = TestServer::start().await;
    let b = browser();
    let en = text_of(&b, server.url("/login?lang=en")).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Forgot your password?"));
    let again = text_of(&b, server.url("/login")).await;
    assert!(again.contains("<html lang=\"en\">"), "remembered");
    let fr = text_of(&b, server.url("/login?lang=fr")).await;
    assert!(fr.contains("<html lang=\"fr\">"));
    let accept = browser()
        .get(server.url("/login"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(accept.text().await.unwrap().contains("<html lang=\"en\">"));
}
