//! « Créer un compte »: the whole journey from a relying party
//! through sign-up, the mail received over SMTP and its link, back to the
//! relying party with tokens (same browser, another browser, no pending
//! request), the page's markup, and the helpers the other account tests
//! share. The password rules are in `password_rules.rs`, the link rules
//! in `links.rs`.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::*;
use crate::mailbox::SmtpSink;

/// Limits off, so that tests can resend at once.
pub const NO_LIMITS: &str = "[policy]\nmail_min_interval_seconds = 0\nmail_max_per_requester_per_hour = 0\nmail_max_per_address_per_window = 0\nmail_max_per_ip_per_hour = 0\n";

/// A server sending its mail to a fresh SMTP sink, with `extra` config.
pub async fn with_smtp(extra: &str) -> (TestServer, SmtpSink) {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(&format!("{}{extra}", sink.config())).await;
    (server, sink)
}

/// The sign-up form of a valid citizen, with `changes` applied.
pub fn citizen(email: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        ("civilite", "female"),
        ("family_name", "Dupont"),
        ("given_name", "Jeanne"),
        ("email", email),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in changes {
        match form.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => form.push((k.to_string(), v.to_string())),
        }
    }
    form
}

/// Opens the sign-up page (for `interaction`, if any) and submits `form`.
pub async fn submit_signup(
    server: &TestServer,
    browser: &reqwest::Client,
    interaction: Option<&str>,
    form: Vec<(String, String)>,
) -> (reqwest::StatusCode, String) {
    let query = interaction
        .map(|id| format!("?interaction={id}"))
        .unwrap_or_default();
    let page = browser
        .get(server.url(&format!("/signup{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let mut form = form;
    form.push(("csrf".into(), hidden(&html, "csrf")));
    form.push(("interaction".into(), interaction.unwrap_or_default().into()));
    let response = browser
        .post(server.url("/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Follows the pages from `location` (login, consent) until the redirect
/// to the client, signing in with `email` and the test password.
pub async fn finish(
    server: &TestServer,
    browser: &reqwest::Client,
    mut location: String,
    email: &str,
    password: &str,
) -> String {
    for _ in 0..4 {
        if !location.starts_with('/') {
            return location;
        }
        let html = text_of(browser, server.url(&location)).await;
        let (action, mut form) = if location.starts_with("/login") {
            (
                "/login",
                vec![
                    ("email", email.to_owned()),
                    ("password", password.to_owned()),
                ],
            )
        } else if location.starts_with("/consent") {
            ("/consent", vec![("decision", "accept".to_owned())])
        } else {
            panic!("unexpected page {location}");
        };
        form.push(("csrf", hidden(&html, "csrf")));
        form.push(("interaction", hidden(&html, "interaction")));
        let response = browser
            .post(server.url(action))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            303,
            "{action}: {}",
            response.text().await.unwrap()
        );
        location = location_of(&response);
    }
    panic!("too many pages");
}

pub fn location_of(response: &reqwest::Response) -> String {
    location(response)
}

/// Starts an authorization request for `rp-basic`; returns its interaction id.
pub async fn start_request(server: &TestServer, browser: &reqwest::Client) -> String {
    let response = browser.get(auth_url(server, "")).send().await.unwrap();
    let loc = location(&response);
    assert!(loc.starts_with("/login?interaction="), "{loc}");
    query(&server.url(&loc))["interaction"].clone()
}

/// The activation link of a mail.
pub fn verify_link(server: &TestServer, mail: &crate::mailbox::Received) -> String {
    mail.link(&server.url("/verify?token="))
}

/// Opens an activation link in `browser` — a GET, which changes nothing
/// and shows a page — and confirms it with that page's form, adding
/// `fields` (the sign-up password, or a new one, in another browser).
pub async fn activate(
    server: &TestServer,
    browser: &reqwest::Client,
    link: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = browser.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200, "the activation page");
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = ["csrf", "token", "mode"]
        .iter()
        .map(|name| (name.to_string(), hidden(&html, name)))
        .collect();
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    browser
        .post(server.url("/verify"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The error messages of a field, as the page shows them.
pub fn field_errors(html: &str, field: &str) -> String {
    let marker = format!("id=\"{field}-error\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no error shown for {field}:\n{html}"));
    let end = html[start..].find("</div>").unwrap() + start;
    unescape(&html[start..end])
}

/// The input element of a field.
pub fn input(html: &str, field: &str) -> String {
    let marker = format!(" id=\"{field}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {field}"));
    let start = html[..at].rfind("<input").unwrap();
    let end = html[start..].find('>').unwrap() + start;
    unescape(&html[start..=end])
}

#[tokio::test]
async fn journey_from_relying_party_through_signup_and_mail_to_tokens() {
    let (server, sink) = with_smtp("").await;
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp-basic".into()),
        Some(ClientSecret::new(BASIC_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_auth_type(AuthType::BasicAuth);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_extra_param(
            "claims",
            r#"{"id_token":{"email":null,"email_verified":null}}"#,
        )
        .set_pkce_challenge(challenge)
        .url();

    // The relying party sends the citizen to the login page…
    let b = browser();
    let login = location(&b.get(url.as_str()).send().await.unwrap());
    let login_html = text_of(&b, server.url(&login)).await;
    let id = query(&server.url(&login))["interaction"].clone();
    // … which links to « Créer un compte » for the same request.
    let signup_href = format!("href=\"&#x2f;signup?interaction={id}\"");
    assert!(
        login_html.contains(&signup_href) && login_html.contains("Créer un compte"),
        "{login_html}"
    );
    let (status, page) =
        submit_signup(&server, &b, Some(&id), citizen("jeanne@example.test", &[])).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Vous devez vérifier votre courriel pour activer votre compte."),
        "{page}"
    );
    assert!(page.contains("Vous n&#x27;avez pas reçu de code dans le courriel ?"));
    assert!(page.contains("Cliquez ici pour renvoyer le courriel."));

    // The mail, over SMTP.
    let mail = sink.nth(1).await;
    assert_eq!(mail.to, vec!["jeanne@example.test".to_owned()]);
    assert_eq!(mail.from, "nepasrepondre@example.org");
    assert_eq!(mail.subject(), "Espace Citoyens - Création de votre compte");
    let parsed = mail.parsed();
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("nepasrepondre@example.org"));
    assert_eq!(from.name(), Some("Espace Citoyens"));
    assert!(parsed.date().is_some(), "Date");
    assert!(
        parsed.message_id().unwrap().ends_with("@example.org"),
        "Message-ID"
    );
    let text = mail.text();
    assert!(text.contains("Ce lien expirera dans 5 minutes."), "{text}");
    assert!(
        text.contains(
            "Si vous n'êtes pas à l'origine de cette demande, merci d'ignorer ce courriel."
        )
    );
    let link = verify_link(&server, &mail);
    assert!(mail.html().contains("Activer mon compte"), "HTML part");

    // The link, in the same browser: its page confirms with one button,
    // then signed in, then the consent page.
    let opened = activate(&server, &b, &link, &[]).await;
    assert_eq!(opened.status(), 303);
    let next = location(&opened);
    assert!(
        next.starts_with(&format!("/consent?interaction={id}")),
        "{next}"
    );
    let callback = finish(&server, &b, next, "jeanne@example.test", PASSWORD).await;
    let params = query(&callback);
    assert_eq!(params["state"], *csrf_state.secret());

    // The relying party gets tokens; email_verified is true.
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let claims = token
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("jeanne@example.test")
    );
    assert_eq!(claims.email_verified(), Some(true));
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email_verified(), Some(true));
    assert_eq!(info.subject(), claims.subject());
}

#[tokio::test]
async fn link_opened_in_another_browser_asks_for_the_signup_password_then_continues() {
    let (server, sink) = with_smtp("").await;
    let phone = browser();
    let id = start_request(&server, &phone).await;
    submit_signup(
        &server,
        &phone,
        Some(&id),
        citizen("paul@example.test", &[]),
    )
    .await;
    let link = verify_link(&server, &sink.nth(1).await);

    let laptop = browser();
    let html = unescape(&text_of(&laptop, &link).await);
    assert!(
        html.contains("saisissez le mot de passe choisi lors de l'inscription"),
        "{html}"
    );
    let wrong = activate(&server, &laptop, &link, &[("password", "Pas-Le-Bon-42")]).await;
    assert_eq!(wrong.status(), 200);
    assert!(
        unescape(&wrong.text().await.unwrap())
            .contains("Ce mot de passe n'est pas celui choisi à l'inscription."),
        "a wrong password activates nothing"
    );
    let opened = activate(&server, &laptop, &link, &[("password", PASSWORD)]).await;
    assert_eq!(opened.status(), 303, "the sign-up password activates");
    let next = location(&opened);
    assert!(
        next.starts_with(&format!("/consent?interaction={id}")),
        "the request is handed over to this browser: {next}"
    );
    let callback = finish(&server, &laptop, next, "paul@example.test", PASSWORD).await;
    assert!(callback.starts_with(REDIRECT) && query(&callback).contains_key("code"));
}

#[tokio::test]
async fn without_pending_request_the_link_says_the_account_is_active() {
    let (server, sink) = with_smtp("").await;
    let b = browser();
    let (status, _) = submit_signup(&server, &b, None, citizen("solo@example.test", &[])).await;
    assert_eq!(status, 200);
    let link = verify_link(&server, &sink.nth(1).await);
    let page = activate(&server, &b, &link, &[]).await;
    assert_eq!(page.status(), 200);
    let html = unescape(&page.text().await.unwrap());
    assert!(
        html.contains("Compte activé") && html.contains("votre compte est actif"),
        "{html}"
    );
    let home = text_of(&b, server.url("/")).await;
    assert!(
        home.contains("solo@example.test"),
        "signed in in the browser that signed up"
    );
}

#[tokio::test]
async fn signup_page_is_accessible() {
    let server = TestServer::start().await;
    let html = browser()
        .get(server.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (id, label) in [
        ("civilite", "Madame"),
        ("civilite-male", "Monsieur"),
        ("family_name", "Nom *"),
        ("given_name", "Prénom *"),
        ("email", "Courriel *"),
        ("password", "Mot de passe *"),
        ("password_confirm", "Confirmation du mot de passe *"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}</label>")),
            "label of {id}:\n{html}"
        );
    }
    assert!(html.contains("<legend>Civilité *</legend>"));
    assert!(
        html.contains("Au moins 8 caractères, dont au moins 1 minuscule, 1 majuscule, 1 chiffre.")
    );
    assert!(input(&html, "password").contains("aria-describedby=\"password-hint\""));
    assert!(input(&html, "password").contains("autocomplete=\"new-password\""));
    let en = browser()
        .get(server.url("/signup?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Create an account"));
}

#[tokio::test]
async fn signup_without_csrf_is_refused_and_nothing_created() {
    let server = TestServer::start().await;
    let response = browser()
        .post(server.url("/signup"))
        .form(&citizen(
            "forged@example.test",
            &[("csrf", &"x".repeat(43))],
        ))
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
    let user = server
        .app
        .store
        .run(|conn| sesame::store::users::by_email(conn, "forged@example.test"))
        .await
        .unwrap();
    assert!(user.is_none());
}
