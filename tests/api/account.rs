//! « Mon compte »: the pages need a session, are `no-store` and in both
//! languages; the profile (every bad field named, nothing half-saved, the
//! change seen by services at userinfo and refresh); re-authentication
//! after five minutes; the address change by a link to the new address.

use crate::helpers::*;
use crate::rp::*;
use crate::signup::{NO_LIMITS, with_smtp};

/// A page's HTML, its status checked.
pub async fn page(server: &TestServer, b: &reqwest::Client, path: &str, status: u16) -> String {
    let response = b.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), status, "{path}");
    unescape(&response.text().await.unwrap())
}

/// Posts `form` from the page at `from` (its CSRF token added).
pub async fn submit(
    server: &TestServer,
    b: &reqwest::Client,
    from: &str,
    action: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let html = text_of(b, server.url(from)).await;
    let csrf = hidden(&html, "csrf");
    let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf)];
    fields.extend_from_slice(form);
    b.post(server.url(action))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// Makes every sign-in of the server older than five minutes.
pub async fn age_sign_ins(server: &TestServer) {
    server
        .app
        .store
        .run(|tx| tx.execute_sql("UPDATE sessions SET auth_time = auth_time - 600"))
        .await
        .unwrap();
}

#[test]
fn every_account_template_renders_in_both_languages() {
    use sesame::http::pages::{Pages, TEMPLATES};
    let pages = Pages::new(sesame::http::paths::STYLESHEET).unwrap();
    let errors = serde_json::json!({
        "fields": {"family_name": ["E"], "new_email": ["E"], "password": ["E"], "civilite": ["E"]},
        "summary": [{"field": "family_name", "message": "E"}],
    });
    let values: serde_json::Value = [
        "civilite",
        "family_name",
        "preferred_username",
        "given_name",
        "birthdate",
        "phone_number",
        "street_address",
        "postal_code",
        "locality",
        "country",
    ]
    .iter()
    .map(|k| (k.to_string(), serde_json::json!("V")))
    .collect::<serde_json::Map<_, _>>()
    .into();
    let context = serde_json::json!({
        "csrf": "c", "account_email": "e@x.fr", "logout_href": "/logout",
        "nav": [{"href": "/account", "label": "Accueil", "current": true}],
        "notice": {"text": "N", "error": false}, "errors": errors, "values": values,
        "greeting": "G", "sections": [{"href": "/account/profile", "title": "T", "text": "X"}],
        "title": "T", "paragraphs": ["P"], "link_href": "/l", "link_label": "L",
        "action": "/x", "email_href": "/account/email", "current": "e@x.fr", "new_email": "n@x.fr",
        "return_to": "/account", "password_action": "/p", "password_hint": "H",
        "strength": {"script": "/static/strength.js?v=0", "rules": [{"id": "length", "label": "L", "figure": 8}]},
        "second_factor": true, "totp_href": "/account/security/totp",
        "events": [{"when": "W", "what": "S", "ip": "127.0.0.1", "browser": "B"}],
        "end_action": "/e", "end_others_action": "/o", "others": true,
        "sessions": [{"sid": "s", "browser": "B", "ip": "I", "started": "S", "last_seen": "L", "current": false}],
        "withdraw_action": "/w",
        "applications": [{"client_id": "c", "name": "N", "receives": ["R"], "since": "S", "privacy_policy_url": "https://p"}],
        "export_href": "/d", "delete_action": "/del",
    });
    // The second factor's pages.
    let totp = serde_json::json!({
        "on": true, "since": "S", "codes_left": 9, "enrol_action": "/en", "codes_action": "/co",
        "disable_action": "/di", "confirm_action": "/cf", "qr_svg": "<svg></svg>", "key": "ABCD EFGH",
        "guided": {"interaction": "i", "client_name": "N"}, "codes": ["aaaa-bbbb-cccc-dddd"],
        "download_href": "data:text/plain,x", "continue_href": "/login/code", "print_script": "",
    });
    let mut context = context;
    if let (Some(all), serde_json::Value::Object(more)) = (context.as_object_mut(), totp) {
        all.extend(more);
    }
    let names: Vec<_> = TEMPLATES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| n.starts_with("account/") && !n.contains("/_") && *n != "account/layout.html")
        .collect();
    assert!(names.len() >= 9, "{names:?}");
    for name in names {
        for lang in sesame::i18n::Lang::ALL {
            let html = pages
                .render_string(name, lang, "/account", &context)
                .unwrap_or_else(|e| panic!("{name} {lang:?}: {e:#}"));
            assert!(
                html.contains(&format!("<html lang=\"{}\">", lang.code())),
                "{name}"
            );
            assert!(
                html.contains("aria-current=\"page\""),
                "{name}: in the frame"
            );
        }
    }
}

#[tokio::test]
async fn account_pages_need_a_session_are_not_cached_and_speak_both_languages() {
    let server = TestServer::start().await;
    let stranger = browser();
    let response = stranger
        .get(server.url("/account/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");

    let (b, _) = signed_in(&server, "moi@example.test").await;
    let home = page(&server, &b, "/", 200).await;
    assert!(
        home.contains("href=\"/account\""),
        "the home page links to the account"
    );
    for path in [
        "/account",
        "/account/profile",
        "/account/security",
        "/account/sessions",
        "/account/applications",
        "/account/data",
    ] {
        let response = b.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Mon compte") || html.contains("Rubriques de mon compte"),
            "{path}"
        );
        assert!(
            html.contains("aria-current=\"page\""),
            "{path}: its entry is marked"
        );
    }
    let english = page(&server, &b, "/account?lang=en", 200).await;
    assert!(english.contains("My account"), "{english}");
    assert!(english.contains("Signed-in devices"));
}

fn profile_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("civilite", "female"),
        ("family_name", "Test"),
        ("preferred_username", "Martin"),
        ("given_name", "Nathalie Marie"),
        ("birthdate", "1977-01-01"),
        ("phone_number", "06 12 34 56 78"),
        ("street_address", "1 place de la Mairie"),
        ("postal_code", "94500"),
        ("locality", "Champigny-sur-Marne"),
        ("country", "France"),
    ];
    for (k, v) in changes {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    form
}

async fn userinfo(server: &TestServer, token: &str) -> serde_json::Value {
    rp_http()
        .get(server.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_profile_change_is_seen_at_the_next_userinfo_and_refresh() {
    let server = TestServer::start().await;
    let email = "profil@example.test";
    server.add_user(email, true).await;
    let client = rp(&server, "rp-basic", Some(BASIC_SECRET)).await;
    let b = browser();
    let signed = code_flow(
        &server,
        &b,
        &client,
        &["profile", "phone", "address", "offline_access"],
        email,
    )
    .await;
    let before = userinfo(&server, signed.access.secret()).await;
    assert_eq!(before["preferred_username"], "Test DSI");

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = submit(
        &server,
        &b,
        "/account/profile",
        "/account/profile",
        &profile_form(&[]),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account/profile?done=saved");
    let html = page(&server, &b, "/account/profile?done=saved", 200).await;
    assert!(
        html.contains("Vos modifications ont été enregistrées."),
        "{html}"
    );
    assert!(html.contains("value=\"Nathalie Marie\""));

    let after = userinfo(&server, signed.access.secret()).await;
    assert_eq!(after["preferred_username"], "Martin");
    assert_eq!(after["given_name"], "Nathalie Marie");
    assert_eq!(after["phone_number"], "+33612345678", "stored in E.164");
    assert_eq!(after["address"]["locality"], "Champigny-sur-Marne");
    assert!(
        after["updated_at"].as_i64() > before["updated_at"].as_i64(),
        "updated_at moves"
    );

    let refresh = signed.refresh.unwrap();
    let (status, body) = post_as(
        &server,
        "/token",
        "rp-basic",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let refreshed = userinfo(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(refreshed["preferred_username"], "Martin");
}

#[tokio::test]
async fn bad_profile_fields_are_named_and_nothing_is_half_saved() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "erreurs@example.test").await;
    let long = "x".repeat(101);
    let cases: [(&str, &str, &str); 5] = [
        ("birthdate", "2999-01-01", "ne peut pas être dans le futur"),
        ("birthdate", "1977-02-30", "date réelle"),
        (
            "phone_number",
            "12 ab 34",
            "numéro de téléphone n'est pas valide",
        ),
        ("family_name", &long, "ne peut dépasser 100 caractères"),
        ("civilite", "autre", "Choisissez Madame ou Monsieur"),
    ];
    for (field, value, message) in cases {
        // A good change elsewhere in the same form must not be saved either.
        let form = profile_form(&[(field, value), ("locality", "Ailleurs")]);
        let response = submit(&server, &b, "/account/profile", "/account/profile", &form).await;
        assert_eq!(response.status(), 422, "{field}={value}");
        let html = unescape(&response.text().await.unwrap());
        assert!(html.contains(message), "{field}: {html}");
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "the summary links to {field}"
        );
    }
    let unchanged = page(&server, &b, "/account/profile", 200).await;
    assert!(
        unchanged.contains("value=\"Champigny-sur-Marne\""),
        "{unchanged}"
    );
    assert!(!unchanged.contains("Ailleurs"));

    // No CSRF token: refused with a clear page, nothing saved.
    let response = b
        .post(server.url("/account/profile"))
        .form(&profile_form(&[("locality", "Ailleurs")]))
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
    // An enormous field is refused before it is read, never a 5xx.
    let huge = "y".repeat(100_000);
    let response = submit(
        &server,
        &b,
        "/account/profile",
        "/account/profile",
        &profile_form(&[("locality", &huge)]),
    )
    .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(
        !page(&server, &b, "/account/profile", 200)
            .await
            .contains("Ailleurs")
    );
}

#[tokio::test]
async fn a_sensitive_page_asks_for_the_password_after_five_minutes_then_comes_back() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "reauth@example.test").await;
    page(&server, &b, "/account/email", 200).await;
    age_sign_ins(&server).await;
    let response = b.get(server.url("/account/email")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/account/reauth?return=%2Faccount%2Femail"
    );
    let html = page(
        &server,
        &b,
        "/account/reauth?return=%2Faccount%2Femail",
        200,
    )
    .await;
    assert!(html.contains("Confirmez votre mot de passe"));
    let from = "/account/reauth?return=%2Faccount%2Femail";
    let wrong = submit(
        &server,
        &b,
        from,
        "/account/reauth",
        &[("return", "/account/email"), ("password", "Mauvais-1234")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Mot de passe incorrect.")
    );
    assert_eq!(
        b.get(server.url("/account/email"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "still stale"
    );
    let right = submit(
        &server,
        &b,
        from,
        "/account/reauth",
        &[("return", "/account/email"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(right.status(), 303);
    assert_eq!(location(&right), "/account/email");
    page(&server, &b, "/account/email", 200).await;

    // Never sent back outside the account space.
    age_sign_ins(&server).await;
    let evil = submit(
        &server,
        &b,
        from,
        "/account/reauth",
        &[
            ("return", "https://evil.example/account"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(location(&evil), "/account");
}

#[tokio::test]
async fn an_address_change_takes_effect_only_through_the_link_sent_to_the_new_address() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    let (old, new) = ("ancienne@example.test", "nouvelle@example.test");
    let (b, _) = signed_in(&server, old).await;
    let response = submit(
        &server,
        &b,
        "/account/email",
        "/account/email",
        &[("new_email", new)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let html = page(&server, &b, &location(&response), 200).await;
    assert!(
        html.contains("Votre adresse actuelle reste celle de votre compte"),
        "{html}"
    );

    let first = sink.nth(1).await;
    let second = sink.nth(2).await;
    let (to_new, to_old) = if first.to == vec![new.to_owned()] {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(
        to_new.subject(),
        "Espace Citoyens - Confirmez votre nouvelle adresse"
    );
    assert!(to_new.text().contains("Ce lien expirera dans 5 minutes."));
    assert_eq!(to_old.to, vec![old.to_owned()]);
    assert!(
        to_old.text().contains("Ce n'était pas moi"),
        "{}",
        to_old.text()
    );
    assert!(
        to_old.text().contains(&server.url("/account")),
        "every mail links to the account"
    );

    // Meanwhile the address in use is still the account's, still verified.
    assert!(
        page(&server, &b, "/account/profile", 200)
            .await
            .contains(old)
    );
    let other = browser();
    let login = submit_login(&server, &other, "/login", old).await;
    assert_eq!(login, "/", "the old address still signs in");

    let link = to_new.link(&server.url("/account/email/confirm"));
    let elsewhere = browser();
    let button = page(&server, &elsewhere, &link.replace(&server.base, ""), 200).await;
    let form = [
        ("csrf", hidden(&button, "csrf")),
        ("token", hidden(&button, "token")),
    ];
    let done = elsewhere
        .post(server.url("/account/email/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains(new));
    assert!(
        page(&server, &b, "/account/profile", 200)
            .await
            .contains(new)
    );
    assert_eq!(submit_login(&server, &browser(), "/login", new).await, "/");
    let again = elsewhere
        .post(server.url("/account/email/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410, "single use");
}

#[tokio::test]
async fn it_was_not_me_cancels_the_change_and_bad_addresses_are_named() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    let old = "victime@example.test";
    let (b, _) = signed_in(&server, old).await;
    for (typed, message) in [
        ("pas-une-adresse", "n'est pas valide"),
        (old, "déjà l'adresse de votre compte"),
        ("", "Ce champ est obligatoire."),
    ] {
        let response = submit(
            &server,
            &b,
            "/account/email",
            "/account/email",
            &[("new_email", typed)],
        )
        .await;
        assert_eq!(response.status(), 422, "{typed}");
        assert!(
            unescape(&response.text().await.unwrap()).contains(message),
            "{typed}"
        );
    }
    submit(
        &server,
        &b,
        "/account/email",
        "/account/email",
        &[("new_email", "pirate@example.test")],
    )
    .await;
    let notice = sink.next_to(old, 0).await;
    let to_new = sink.next_to("pirate@example.test", 0).await;
    let cancel = notice.link(&server.url("/account/email/cancel"));
    let c = browser();
    let button = page(&server, &c, &cancel.replace(&server.base, ""), 200).await;
    let form = [
        ("csrf", hidden(&button, "csrf")),
        ("token", hidden(&button, "token")),
    ];
    let cancelled = c
        .post(server.url("/account/email/cancel"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert!(cancelled.text().await.unwrap().contains("annulé"));

    let confirm = to_new.link(&server.url("/account/email/confirm"));
    let p = browser();
    let button = page(&server, &p, &confirm.replace(&server.base, ""), 200).await;
    let form = [
        ("csrf", hidden(&button, "csrf")),
        ("token", hidden(&button, "token")),
    ];
    let refused = p
        .post(server.url("/account/email/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 410);
    assert!(
        page(&server, &b, "/account/profile", 200)
            .await
            .contains(old)
    );
}
