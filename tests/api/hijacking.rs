//! Accounts that cannot be taken over through email links: a GET of a link
//! changes nothing; a stranger who signs up with someone else's address
//! never ends up with a valid password, nor blocks the owner's own
//! sign-up; signing in after signing up does not tell whether the address
//! had an account; a pending request belongs to the browser that made it;
//! a sign-in through an email link does not claim `pwd`.

use crate::helpers::*;
use crate::reset::{NEW_PASSWORD, choose, forgot, reset_link};
use crate::signup::{
    NO_LIMITS, activate, citizen, finish, start_request, submit_signup, verify_link, with_smtp,
};

const VICTIM: &str = "victime@example.test";
const ATTACKER_PASSWORD: &str = "Pirate-Canal-77";

/// Submits the login form in `b` (with the pending request `interaction`,
/// if any); returns the status and the page.
async fn sign_in(
    server: &TestServer,
    b: &reqwest::Client,
    email: &str,
    password: &str,
) -> (reqwest::StatusCode, String) {
    let response = post_bare_login(server, b, email, password).await;
    (response.status(), response.text().await.unwrap())
}

async fn account_exists(server: &TestServer, email: &'static str) -> bool {
    server
        .app
        .store
        .run(move |conn| sesame::store::users::by_email(conn, email))
        .await
        .unwrap()
        .is_some()
}

const CHECK_EMAIL: &str = "Vous devez vérifier votre courriel pour activer votre compte.";
const REFUSED: &str = "Courriel ou mot de passe incorrect";

#[tokio::test]
async fn the_attacker_journey_fails_at_every_step() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    // The attacker signs up with the victim's address and a password of theirs.
    let attacker = browser();
    let signup = citizen(
        VICTIM,
        &[
            ("password", ATTACKER_PASSWORD),
            ("password_confirm", ATTACKER_PASSWORD),
        ],
    );
    let (status, _) = submit_signup(&server, &attacker, None, signup).await;
    assert_eq!(status, 200);
    let link = verify_link(&server, &sink.next_to(VICTIM, 0).await);

    // The victim's mail scanner fetches the link, twice, without cookies.
    for _ in 0..2 {
        let scanned = rp_http().get(&link).send().await.unwrap();
        assert_eq!(scanned.status(), 200);
    }
    assert!(
        !account_exists(&server, VICTIM).await,
        "a GET verifies nothing"
    );
    let (_, page) = sign_in(&server, &attacker, VICTIM, ATTACKER_PASSWORD).await;
    assert!(unescape(&page).contains(CHECK_EMAIL), "still pending");

    // The victim opens it in their own browser: it asks for the password
    // chosen at sign-up, which they do not know; a forged one-button
    // confirmation is refused.
    let victim = browser();
    let html = unescape(&text_of(&victim, &link).await);
    assert!(
        html.contains("Mot de passe choisi à l'inscription"),
        "{html}"
    );
    let forged = activate(&server, &victim, &link, &[("mode", "browser")]).await;
    assert!(
        unescape(&forged.text().await.unwrap())
            .contains("Ce mot de passe n'est pas celui choisi à l'inscription."),
    );
    assert!(!account_exists(&server, VICTIM).await);

    // They choose their own password instead.
    let new_page = format!("{link}&mode=new");
    let chosen = activate(
        &server,
        &victim,
        &new_page,
        &[
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(chosen.status(), 200);
    assert!(unescape(&chosen.text().await.unwrap()).contains("Compte activé"));

    // The attacker's password opens nothing; the owner's does.
    let (status, page) = sign_in(&server, &browser(), VICTIM, ATTACKER_PASSWORD).await;
    assert_eq!(status, 200);
    assert!(unescape(&page).contains(REFUSED), "{page}");
    let (status, _) = sign_in(&server, &browser(), VICTIM, NEW_PASSWORD).await;
    assert_eq!(
        status, 303,
        "the mailbox owner holds the only valid password"
    );
}

#[tokio::test]
async fn the_owner_signs_up_over_a_strangers_pending_signup() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    let attacker = browser();
    let signup = citizen(
        VICTIM,
        &[
            ("password", ATTACKER_PASSWORD),
            ("password_confirm", ATTACKER_PASSWORD),
        ],
    );
    submit_signup(&server, &attacker, None, signup).await;
    let attackers_link = verify_link(&server, &sink.nth(1).await);

    // The owner signs up as if nothing happened, and confirms in their browser.
    let owner = browser();
    let (status, page) = submit_signup(&server, &owner, None, citizen(VICTIM, &[])).await;
    assert_eq!(status, 200);
    assert!(unescape(&page).contains(CHECK_EMAIL));
    let owners_link = verify_link(&server, &sink.nth(2).await);
    let done = activate(&server, &owner, &owners_link, &[]).await;
    assert_eq!(
        done.status(),
        200,
        "one button in the browser that signed up"
    );
    assert!(unescape(&done.text().await.unwrap()).contains("Compte activé"));

    let (_, page) = sign_in(&server, &attacker, VICTIM, ATTACKER_PASSWORD).await;
    assert!(unescape(&page).contains(REFUSED), "{page}");
    let (status, _) = sign_in(&server, &browser(), VICTIM, PASSWORD).await;
    assert_eq!(status, 303);
    // The stranger's link died with their sign-up.
    let dead = attacker.get(&attackers_link).send().await.unwrap();
    assert_eq!(dead.status(), 400);
    assert!(unescape(&dead.text().await.unwrap()).contains("Ce lien n'est pas valable"));
}

/// The probe of the issue: sign up with an address and a password, then
/// sign in with that password. Both steps must look the same whether the
/// address already had an account or not.
#[tokio::test]
async fn signing_in_after_signing_up_tells_nothing_about_the_address() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    server.add_user("prise@example.test", true).await;
    let mut seen = Vec::new();
    for email in ["prise@example.test", "libre@example.test"] {
        let b = browser();
        let probe = citizen(
            email,
            &[
                ("password", ATTACKER_PASSWORD),
                ("password_confirm", ATTACKER_PASSWORD),
            ],
        );
        let (signup_status, signup_page) = submit_signup(&server, &b, None, probe).await;
        let (login_status, login_page) = sign_in(&server, &b, email, ATTACKER_PASSWORD).await;
        assert!(unescape(&login_page).contains(CHECK_EMAIL), "{login_page}");
        let same = |page: &str| {
            page.replace(email, "EMAIL")
                .replace(&hidden(page, "csrf"), "CSRF")
        };
        seen.push((
            signup_status,
            same(&signup_page),
            login_status,
            same(&login_page),
        ));
    }
    assert_eq!(
        seen[0], seen[1],
        "the same pages for a taken and a free address"
    );
    // Only the mailbox tells: its owner reads « votre compte existe déjà ».
    let taken = sink.next_to("prise@example.test", 0).await;
    assert_eq!(
        taken.subject(),
        "Espace Citoyens - Votre compte existe déjà"
    );
    let free = sink.next_to("libre@example.test", 0).await;
    assert_eq!(free.subject(), "Espace Citoyens - Création de votre compte");
    assert!(
        !account_exists(&server, "libre@example.test").await,
        "no account until the link is confirmed"
    );
}

#[tokio::test]
async fn a_pending_request_planted_in_another_browser_is_refused() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    server.add_user(VICTIM, true).await;
    let attacker = browser();
    let planted = start_request(&server, &attacker).await;
    let victim = browser();
    for page in ["/password/forgot", "/signup", "/login", "/consent"] {
        let response = victim
            .get(server.url(&format!("{page}?interaction={planted}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{page}");
        assert!(
            unescape(&response.text().await.unwrap()).contains("expiré"),
            "{page} shows the expired-request page"
        );
    }
    // A forged POST with the planted id sends nothing.
    let html = text_of(&victim, server.url("/password/forgot")).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", planted.clone()),
        ("email", VICTIM.to_owned()),
    ];
    let refused = victim
        .post(server.url("/password/forgot"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    sink.assert_quiet(0).await;
    // In the attacker's own browser the id still works.
    let (status, _) = forgot(&server, &attacker, VICTIM, Some(&planted)).await;
    assert_eq!(status, 200);
    sink.nth(1).await;
}

#[tokio::test]
async fn the_victims_reset_never_resumes_the_attackers_request() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    server.add_user(VICTIM, true).await;
    let attacker = browser();
    let planted = start_request(&server, &attacker).await;
    forgot(&server, &attacker, VICTIM, Some(&planted)).await;
    let link = reset_link(&server, &sink, 1).await;
    let victim = browser();
    let done = choose(&server, &victim, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        done.status(),
        200,
        "the reset ends on « Mot de passe modifié », not in the attacker's request"
    );
    assert!(unescape(&done.text().await.unwrap()).contains("Mot de passe modifié"));
    let consent = victim
        .get(server.url(&format!("/consent?interaction={planted}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        consent.status(),
        400,
        "nor can the victim's browser reach it"
    );
}

#[tokio::test]
async fn a_sign_in_through_an_email_link_is_not_pwd() {
    let (server, sink) = with_smtp(NO_LIMITS).await;
    // Activation in the browser that signed up.
    let b = browser();
    let id = start_request(&server, &b).await;
    submit_signup(&server, &b, Some(&id), citizen("lien@example.test", &[])).await;
    let link = verify_link(&server, &sink.nth(1).await);
    let opened = activate(&server, &b, &link, &[]).await;
    assert_eq!(opened.status(), 303);
    let callback = finish(
        &server,
        &b,
        location(&opened),
        "lien@example.test",
        PASSWORD,
    )
    .await;
    let (status, tokens) = redeem(&server, &query(&callback)["code"]).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert!(claims.get("amr").is_none(), "no method claimed: {claims}");

    // A reset finished in the browser that asked for it.
    let b = browser();
    let id = start_request(&server, &b).await;
    forgot(&server, &b, "lien@example.test", Some(&id)).await;
    let link = reset_link(&server, &sink, 2).await;
    let done = choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        done.status(),
        303,
        "the asking browser continues its request"
    );
    let callback = finish(
        &server,
        &b,
        location(&done),
        "lien@example.test",
        NEW_PASSWORD,
    )
    .await;
    let (_, tokens) = redeem(&server, &query(&callback)["code"]).await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert!(claims.get("amr").is_none(), "{claims}");

    // A password sign-in says `pwd`.
    let (_, tokens) = signed_in(&server, "mot-de-passe@example.test").await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
}
