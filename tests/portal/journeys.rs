//! Sign-in, Rapprochement, « Mon compte », refresh and sign-out through the
//! portal.

use crate::harness::*;
use crate::portal;

#[tokio::test]
async fn a_new_citizen_creates_an_espace_prefilled_from_the_claims() {
    let servers = Servers::start().await;
    let (browser, sub) = signed_in_unlinked(&servers, "nathalie@example.test").await;

    let (status, html) = page(&browser, &servers.portal("/rapprochement")).await;
    assert_eq!(status, 200);
    for expected in [
        "Aucun espace personnel ne correspond aux éléments fournis par le fournisseur d'identité.",
        "J'ai déjà un compte et je me connecte avec mes identifiants",
        "Je crée un nouvel espace personnel",
        "Bonjour Mme Nathalie TEST (nathalie@example.test)",
    ] {
        assert!(
            html.contains(expected),
            "Rapprochement shows « {expected} »:\n{html}"
        );
    }

    let (status, form) = page(&browser, &servers.portal("/rapprochement/creer")).await;
    assert_eq!(status, 200);
    assert!(
        form.contains(r#"value="TEST""#) && form.contains(r#"value="Nathalie""#),
        "{form}"
    );
    assert!(form.contains(r#"value="nathalie@example.test""#));
    assert!(
        form.contains(r#"value="Mme" checked"#),
        "civilité from gender"
    );
    let csrf = hidden(&form, "csrf");

    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("civilite", "Mme"),
        ("nom", "TEST"),
        ("prenom", "Nathalie"),
        ("courriel", "nathalie@example.test"),
        ("telephone", "01 45 25 26 23"),
        ("identifiant", "Nathalie Test"),
    ];
    let refused = browser
        .post(servers.portal("/rapprochement/creer"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let html = text(&refused.text().await.unwrap());
    assert!(html.contains("Acceptez les conditions générales"), "{html}");
    assert!(html.contains("L'identifiant compte de 3 à 50 caractères"));

    fields[6].1 = "nathalie.test";
    fields.push(("cgu", "oui"));
    let created = browser
        .post(servers.portal("/rapprochement/creer"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&created), "/rapprochement/active");
    let (_, html) = page(&browser, &servers.portal("/rapprochement/active")).await;
    assert!(html.contains("Votre espace a bien été activé pour le nom d'utilisateur : <strong>nathalie.test</strong>"), "{html}");

    let (status, html) = page(&browser, &servers.portal("/mon-compte")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Mme Nathalie TEST"));
    assert!(html.contains("nathalie@example.test (vérifié)"));
    assert!(
        html.contains("citizen, parent"),
        "roles from userinfo:\n{html}"
    );
    assert!(html.contains("Vous n'avez encore déclaré aucun membre"));

    let sub2 = sub.clone();
    let linked = servers
        .state
        .db
        .run(move |c| portal::db::by_sub(c, &sub2))
        .await
        .unwrap()
        .expect("the new espace is linked to the sub");
    assert_eq!(linked.identifiant, "nathalie.test");
    assert!(linked.password_hash.is_none());
}

#[tokio::test]
async fn a_citizen_links_an_existing_portal_account_then_comes_back_straight_to_it() {
    let servers = Servers::start().await;
    let email = "marie@example.test";
    let (browser, _) = signed_in_unlinked(&servers, email).await;
    let csrf = csrf_of(&browser, &servers.portal("/rapprochement")).await;

    let wrong = lier(
        &browser,
        &servers,
        &csrf,
        portal::db::DEMO_IDENTIFIANT,
        "pas-le-bon",
    )
    .await;
    assert_eq!(wrong.status(), 422);
    assert!(text(&wrong.text().await.unwrap()).contains("Identifiant ou mot de passe incorrect."));

    let unknown = lier(&browser, &servers, &csrf, "personne", "x").await;
    assert!(
        text(&unknown.text().await.unwrap()).contains("Identifiant ou mot de passe incorrect.")
    );

    let forged = lier(
        &browser,
        &servers,
        "forged",
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(forged.status(), 400, "CSRF token checked");

    let linked = lier(
        &browser,
        &servers,
        &csrf,
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(location(&linked), "/rapprochement/active");
    let (_, html) = page(&browser, &servers.portal("/mon-compte")).await;
    for child in [
        "Gabriel DUPUIS",
        "Léo DUPUIS",
        "Nelly DUPUIS",
        "Yves DUPUIS",
    ] {
        assert!(html.contains(child), "Ma famille lists {child}:\n{html}");
    }
    assert!(html.contains("mdupuis"));

    // A new portal session (same Sésame session, consent remembered): the
    // sub is known, so straight to « Mon compte ».
    let again = sign_in(&servers, &browser, email, Consent::Accept).await;
    assert_eq!(location(&again), "/mon-compte");

    // Another identity cannot take over the linked account.
    let (other, _) = signed_in_unlinked(&servers, "intrus@example.test").await;
    let csrf = csrf_of(&other, &servers.portal("/rapprochement")).await;
    let taken = lier(
        &other,
        &servers,
        &csrf,
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(taken.status(), 422);
    assert!(text(&taken.text().await.unwrap()).contains("déjà lié à une autre identité"));
}

#[tokio::test]
async fn refusing_consent_shows_a_clear_message_not_an_error() {
    let servers = Servers::start().await;
    servers.add_citizen("refus@example.test").await;
    let browser = browser();
    let callback = sign_in(&servers, &browser, "refus@example.test", Consent::Deny).await;
    assert_eq!(
        callback.status(),
        200,
        "access_denied is a choice, not an error"
    );
    let html = text(&callback.text().await.unwrap());
    assert!(html.contains("Connexion annulée"), "{html}");
    assert!(html.contains("Vous avez refusé de partager vos informations"));
    assert!(html.contains(r#"role="status""#));
    let (_, home) = page(&browser, &servers.portal("/mon-compte")).await;
    assert!(!home.contains("Mon compte</h1>"), "not signed in");
}

#[tokio::test]
async fn the_access_token_is_renewed_with_the_refresh_token() {
    let servers = Servers::start().await;
    let (browser, sub) = signed_in_linked(&servers, "refresh@example.test").await;
    let read = |state: portal::State, sub: String| async move {
        state
            .db
            .run(move |c| {
                c.query_row("SELECT data FROM sessions WHERE sub = ?1", [&sub], |r| {
                    r.get::<_, String>(0)
                })
            })
            .await
            .unwrap()
    };
    let before: serde_json::Value =
        serde_json::from_str(&read(servers.state.clone(), sub.clone()).await).unwrap();
    assert!(
        before["identity"]["refresh_token"].is_string(),
        "offline_access gave a refresh token"
    );

    // The access token has expired: asking for fresh claims refreshes first.
    let sub2 = sub.clone();
    servers
        .state
        .db
        .run(move |c| {
            c.execute(
                "UPDATE sessions SET data = json_set(data, '$.identity.access_expires_at', 0) WHERE sub = ?1",
                [&sub2],
            )
        })
        .await
        .unwrap();
    let csrf = csrf_of(&browser, &servers.portal("/mon-compte")).await;
    let refreshed = browser
        .post(servers.portal("/mon-compte/actualiser"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&refreshed), "/mon-compte");
    let after: serde_json::Value =
        serde_json::from_str(&read(servers.state.clone(), sub.clone()).await).unwrap();
    assert_ne!(
        after["identity"]["access_token"],
        before["identity"]["access_token"]
    );
    assert_ne!(
        after["identity"]["refresh_token"], before["identity"]["refresh_token"],
        "rotated"
    );
    assert!(after["identity"]["access_expires_at"].as_i64().unwrap() > 0);
    let (_, html) = page(&browser, &servers.portal("/mon-compte")).await;
    assert!(html.contains("citizen, parent"));

    // A refresh token Sésame refuses (here: forged) ends the portal session.
    let sub3 = sub.clone();
    servers
        .state
        .db
        .run(move |c| {
            c.execute(
                "UPDATE sessions SET data = json_set(data, '$.identity.access_expires_at', 0, '$.identity.refresh_token', 'forged') WHERE sub = ?1",
                [&sub3],
            )
        })
        .await
        .unwrap();
    let ended = browser
        .post(servers.portal("/mon-compte/actualiser"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    assert!(text(&ended.text().await.unwrap()).contains("Votre session a expiré"));
    let gone = browser
        .get(servers.portal("/mon-compte"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&gone), "/");
}

/// « Se déconnecter » ends the portal session, then goes to Sésame's
/// `end_session_endpoint` with `id_token_hint` and
/// `post_logout_redirect_uri` when discovery has one, or back home.
#[tokio::test]
async fn signing_out_ends_the_portal_session_and_uses_end_session_when_offered() {
    let servers = Servers::start().await;
    let (browser, _) = signed_in_linked(&servers, "logout@example.test").await;
    let csrf = csrf_of(&browser, &servers.portal("/mon-compte")).await;
    let out = browser
        .post(servers.portal("/se-deconnecter"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let next = location(&out);
    let discovery: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        servers.sesame
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    match discovery["end_session_endpoint"].as_str() {
        Some(end_session) => {
            assert!(next.starts_with(end_session), "{next}");
            let q: std::collections::HashMap<String, String> = url::Url::parse(&next)
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect();
            assert!(q["id_token_hint"].split('.').count() == 3);
            assert_eq!(q["post_logout_redirect_uri"], servers.portal("/"));
            assert_eq!(q["client_id"], "portail-citoyen");
            assert!(!q["state"].is_empty());
        }
        None => assert_eq!(next, "/?deconnecte=1"),
    }
    let (_, home) = page(&browser, &servers.portal("/?deconnecte=1")).await;
    assert!(home.contains("Vous êtes déconnecté de l'Espace Citoyens."));
    let gone = browser
        .get(servers.portal("/mon-compte"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&gone), "/", "the portal session is over");
}

/// Sésame's `end_session_endpoint` signs the citizen out of Sésame too and
/// comes back to the portal's home.
#[tokio::test]
async fn signing_out_signs_out_of_sesame_too() {
    let servers = Servers::start().await;
    let email = "both@example.test";
    let (browser, _) = signed_in_linked(&servers, email).await;
    let csrf = csrf_of(&browser, &servers.portal("/mon-compte")).await;
    let out = browser
        .post(servers.portal("/se-deconnecter"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let mut next = location(&out);
    assert!(
        next.starts_with(&servers.sesame),
        "RP-initiated logout: {next}"
    );
    // Follow Sésame (a confirmation page, if any, is submitted as is).
    for _ in 0..4 {
        if next.starts_with(&servers.portal) {
            break;
        }
        let url = if next.starts_with('/') {
            format!("{}{next}", servers.sesame)
        } else {
            next.clone()
        };
        let r = browser.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            next = location(&r);
            continue;
        }
        let html = r.text().await.unwrap();
        let mut form = vec![("csrf", hidden(&html, "csrf"))];
        if html.contains("name=\"logout\"") {
            form.push(("logout", "yes".into()));
        }
        let action = url::Url::parse(&url).unwrap().path().to_owned();
        let posted = browser
            .post(format!("{}{action}", servers.sesame))
            .form(&form)
            .send()
            .await
            .unwrap();
        next = location(&posted);
    }
    assert!(
        next.starts_with(&servers.portal("/")),
        "back to the portal: {next}"
    );
    // Signed out of Sésame: signing in again shows its login page.
    let start = browser
        .get(servers.portal("/se-connecter"))
        .send()
        .await
        .unwrap();
    let authorize = browser.get(location(&start)).send().await.unwrap();
    assert!(
        location(&authorize).starts_with("/login"),
        "Sésame asks to sign in again"
    );
}

#[tokio::test]
async fn hostile_callbacks_are_refused_with_a_page() {
    let servers = Servers::start().await;
    let browser = browser();
    for query in [
        "",
        "?code=abc&state=xyz",
        "?error=access_denied",
        "?code=%FF%FE&state=%00",
        "?state=a&state=b",
    ] {
        let r = browser
            .get(servers.portal(&format!("/callback{query}")))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{query}: {}", r.status());
    }
    // A started sign-in with a wrong state.
    let start = browser
        .get(servers.portal("/se-connecter"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let r = browser
        .get(servers.portal("/callback?code=abc&state=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(text(&r.text().await.unwrap()).contains("ne correspond pas à votre demande"));
    // Pages needing a session send to the home page.
    for path in [
        "/mon-compte",
        "/rapprochement",
        "/rapprochement/creer",
        "/rapprochement/active",
    ] {
        let r = browser.get(servers.portal(path)).send().await.unwrap();
        assert_eq!(location(&r), "/", "{path}");
    }
    let r = browser
        .get(servers.portal("/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
