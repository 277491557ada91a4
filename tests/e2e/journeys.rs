//! The citizen's journeys, as the city's manual shows them: sign-up with
//! the mail from Sésame's outbox, consent, Rapprochement, sign-out of both,
//! password reset, refusing consent, the language choice.

use crate::browser::{Browser, run};
use crate::processes::{PASSWORD, Stack};

const HOME: &str = "Bienvenue sur l'Espace Citoyens";
const LOGIN: &str = "Se connecter";
const CONSENT: &str = "Consentement pour le site Espace Citoyens";
const LINK: &str = "Rapprochement de votre espace personnel";
const CREATE: &str = "Création d'un espace personnel";
const ACTIVATED: &str = "Confirmation d'activation de l'espace";
const ACCOUNT: &str = "Mon compte";

/// Portal home → « Se connecter » → Sésame's login page.
async fn to_sesame_login(b: &mut Browser, stack: &Stack) {
    b.goto(&stack.portal("/")).await;
    b.expect_page("portal home", HOME).await;
    b.click_link("portal home: Se connecter", "Se connecter")
        .await;
    b.expect_page("Sésame login", LOGIN).await;
}

async fn log_in(b: &mut Browser, email: &str, password: &str) {
    b.fill("Sésame login", "Courriel", email).await;
    b.fill("Sésame login", "Mot de passe", password).await;
    b.click_button("Sésame login: submit", "Se connecter").await;
}

/// « Se déconnecter » on the portal; through Sésame's end_session_endpoint
/// when it has one (its confirmation page, if any, is confirmed), back to
/// the portal's home, signed out.
async fn sign_out(b: &mut Browser, stack: &Stack) {
    b.click_button("Se déconnecter", "Se déconnecter").await;
    // The click's answer, whichever it is: the portal's home, or Sésame's
    // confirmation page.
    b.expect_page("after « Se déconnecter »", "").await;
    if b.url().await.starts_with(&stack.sesame) {
        b.click_button("Sésame sign-out: confirm", "Se déconnecter")
            .await;
    }
    b.expect_page("portal home after sign-out", HOME).await;
    b.expect_text(
        "portal home after sign-out",
        "Vous êtes déconnecté de l'Espace Citoyens.",
    )
    .await;
}

/// Rapprochement → « Créer mon espace » (prefilled from the claims, the
/// conditions forgotten once) → activated → « Mon compte ».
async fn create_espace(b: &mut Browser, family_name: &str) {
    b.expect_page("Rapprochement", LINK).await;
    b.expect_text(
        "Rapprochement",
        "Aucun espace personnel ne correspond aux éléments fournis par le fournisseur d'identité.",
    )
    .await;
    b.click_link("Rapprochement: new espace", "Créer mon espace")
        .await;
    b.expect_page("new espace form", CREATE).await;
    let prefilled = b.value("new espace form", "Nom").await;
    assert_eq!(
        prefilled, family_name,
        "the form is prefilled from the claims"
    );
    b.click_button(
        "new espace: submit without the conditions",
        "Créer mon espace",
    )
    .await;
    b.expect_page("new espace form with an error", CREATE).await;
    b.expect_text(
        "new espace form with an error",
        "Acceptez les conditions générales",
    )
    .await;
    b.choose("new espace form", "J'accepte les conditions générales")
        .await;
    b.click_button("new espace: submit", "Créer mon espace")
        .await;
    b.expect_page("espace activated", ACTIVATED).await;
    b.expect_text(
        "espace activated",
        "Votre espace a bien été activé pour le nom d'utilisateur",
    )
    .await;
    b.click_link(
        "espace activated: to the dashboard",
        "J'accède à mon espace personnel",
    )
    .await;
    b.expect_page("Mon compte", ACCOUNT).await;
}

/// An existing citizen: Se connecter → login → consent → Accepter →
/// Rapprochement → new espace → « Mon compte » → Se déconnecter.
#[tokio::test]
async fn existing_citizen_signs_in_consents_and_creates_an_espace() {
    run(
        "existing_citizen_creates_an_espace",
        |stack, mut b| async move {
            stack.add_citizen("nathalie@example.test");
            to_sesame_login(&mut b, &stack).await;
            log_in(&mut b, "nathalie@example.test", PASSWORD).await;
            b.expect_page("consent", CONSENT).await;
            b.expect_text("consent", "Courriel").await;
            b.click_button("consent: Accepter", "Accepter").await;
            create_espace(&mut b, "TEST").await;
            b.expect_text("Mon compte", "Mme Nathalie TEST").await;
            b.expect_text("Mon compte", "nathalie@example.test").await;
            b.expect_text("Mon compte", "citizen").await;
            sign_out(&mut b, &stack).await;
        },
    )
    .await;
}

/// Link to the demo portal account (wrong password first); later, signed
/// out of the portal and of Sésame, the citizen signs in again and lands on
/// « Mon compte » with no consent page.
#[tokio::test]
async fn citizen_links_an_existing_portal_account_and_comes_back_without_consent() {
    run("link_existing_account", |stack, mut b| async move {
        let email = "marie@example.test";
        stack.add_citizen(email);
        to_sesame_login(&mut b, &stack).await;
        log_in(&mut b, email, PASSWORD).await;
        b.expect_page("consent", CONSENT).await;
        b.click_button("consent: Accepter", "Accepter").await;
        b.expect_page("Rapprochement", LINK).await;
        b.fill("Rapprochement", "Identifiant", "mdupuis").await;
        b.fill("Rapprochement", "Mot de passe", "pas-le-bon").await;
        b.click_button("Rapprochement: wrong password", "Connexion")
            .await;
        b.expect_page("Rapprochement with an error", LINK).await;
        b.expect_text(
            "Rapprochement with an error",
            "Identifiant ou mot de passe incorrect.",
        )
        .await;
        b.fill("Rapprochement", "Mot de passe", "Espace-Citoyens-94")
            .await;
        b.click_button("Rapprochement: link", "Connexion").await;
        b.expect_page("espace activated", ACTIVATED).await;
        b.expect_text("espace activated", "mdupuis").await;
        b.click_link(
            "espace activated: to the dashboard",
            "J'accède à mon espace personnel",
        )
        .await;
        b.expect_page("Mon compte with the family", ACCOUNT).await;
        for member in ["Gabriel DUPUIS", "Léo DUPUIS", "Nelly DUPUIS"] {
            b.expect_text("Mon compte: Ma famille", member).await;
        }
        sign_out(&mut b, &stack).await;

        // Whatever Sésame's sign-out did, start from a browser without its session.
        b.forget_cookies_of(&format!("{}/", stack.sesame)).await;
        to_sesame_login(&mut b, &stack).await;
        log_in(&mut b, email, PASSWORD).await;
        b.expect_page("Mon compte, straight back (consent remembered)", ACCOUNT)
            .await;
        b.expect_path(
            "no consent page the second time",
            &stack.portal("/mon-compte"),
        )
        .await;
    })
    .await;
}

/// Refuser on the consent page: the portal says so plainly.
#[tokio::test]
async fn refusing_consent_shows_a_clear_portal_message() {
    run("consent_refused", |stack, mut b| async move {
        stack.add_citizen("refus@example.test");
        to_sesame_login(&mut b, &stack).await;
        log_in(&mut b, "refus@example.test", PASSWORD).await;
        b.expect_page("consent", CONSENT).await;
        b.click_button("consent: Refuser", "Refuser").await;
        b.expect_page("portal: sign-in cancelled", "Connexion annulée")
            .await;
        b.expect_text(
            "portal: sign-in cancelled",
            "Vous avez refusé de partager vos informations",
        )
        .await;
        b.expect_path("back on the portal", &stack.portal("/callback"))
            .await;
    })
    .await;
}

/// The language choice on Sésame's pages: English, then back to French.
#[tokio::test]
async fn the_language_choice_switches_to_english_and_back() {
    run("language_choice", |stack, mut b| async move {
        to_sesame_login(&mut b, &stack).await;
        assert_eq!(b.html_lang().await, "fr");
        b.click_link("Sésame login: English", "English").await;
        b.expect_page("Sésame login in English", "Sign in").await;
        assert_eq!(b.html_lang().await, "en", "the page says it is in English");
        b.expect_text("Sésame login in English", "Forgot your password?")
            .await;
        b.click_link("Sésame login: Français", "Français").await;
        b.expect_page("Sésame login in French again", LOGIN).await;
        assert_eq!(b.html_lang().await, "fr");
        b.expect_text("Sésame login in French again", "Mot de passe oublié ?")
            .await;

        // The checker itself: a page with known faults must not pass.
        b.goto("data:text/html,<html><body><img src='x.png'><input></body></html>")
            .await;
        let found = b.violations().await.join("\n");
        assert!(
            found.contains("html-has-lang") && found.contains("image-alt"),
            "axe-core must catch a missing lang and a missing alt, found:\n{found}"
        );
    })
    .await;
}

/// The whole first visit: « Créer un compte » (the policy's errors shown,
/// then fixed) → the mail → its link → consent → Accepter → Rapprochement
/// → new espace → « Mon compte » → Se déconnecter → signed out of both.
#[tokio::test]
async fn new_citizen_signs_up_verifies_the_mail_consents_and_signs_out_of_both() {
    run("sign_up_full_journey", |stack, mut b| async move {
        let email = "nouvelle@example.test";
        to_sesame_login(&mut b, &stack).await;
        b.click_link("Sésame login: Créer un compte", "Créer un compte")
            .await;
        b.expect_page("sign-up form", "Créer un compte").await;
        b.choose("sign-up form", "Madame").await;
        b.fill("sign-up form", "Nom", "Nouvelle").await;
        b.fill("sign-up form", "Prénom", "Camille").await;
        b.fill("sign-up form", "Courriel", email).await;
        b.fill("sign-up form", "Mot de passe", "court").await;
        b.fill("sign-up form", "Confirmation", "autre").await;
        b.click_button("sign-up: submit a weak password", "Créer un compte")
            .await;
        b.expect_page("sign-up form with errors", "Créer un compte")
            .await;
        b.expect_text(
            "sign-up form with errors",
            "Les mots de passe sont différents.",
        )
        .await;
        b.expect_text("sign-up form with errors", "8 caractères")
            .await;
        b.fill("sign-up form", "Mot de passe", "Velo-Bleu-Marne-2026")
            .await;
        b.fill("sign-up form", "Confirmation", "Velo-Bleu-Marne-2026")
            .await;
        b.click_button("sign-up: submit", "Créer un compte").await;
        b.expect_page("check your mail", "courriel").await;
        b.expect_text(
            "check your mail",
            "Vous devez vérifier votre courriel pour activer votre compte",
        )
        .await;

        let mail = stack
            .newest_mail()
            .await
            .expect("a mail in Sésame's outbox");
        assert!(
            mail.contains("Espace Citoyens - Création de votre compte"),
            "{mail}"
        );
        assert!(mail.contains("Ce lien expirera dans 5 minutes."), "{mail}");
        let link = stack
            .link_in_newest_mail()
            .await
            .expect("a link to Sésame in the mail");
        b.goto(&link).await;
        // Opening the link changes nothing: its page confirms with a POST
        // (one button in the browser that signed up).
        b.expect_page("activation page", "Activer votre compte")
            .await;
        b.click_button("activation: confirm", "Activer mon compte")
            .await;
        // The sign-in started from the portal continues.
        b.expect_page("consent after verification", CONSENT).await;
        b.click_button("consent: Accepter", "Accepter").await;
        create_espace(&mut b, "NOUVELLE").await;
        b.expect_text("Mon compte", "Camille").await;
        sign_out(&mut b, &stack).await;
        // Signed out of Sésame too: « Se connecter » asks for the password again.
        to_sesame_login(&mut b, &stack).await;
    })
    .await;
}

/// « Mot de passe oublié ? » → mail → new password → signed in with it.
#[tokio::test]
async fn password_reset_leads_to_a_successful_sign_in() {
    run("password_reset", |stack, mut b| async move {
        let email = "oubli@example.test";
        stack.add_citizen(email);
        to_sesame_login(&mut b, &stack).await;
        b.click_link("Sésame login: forgot", "Mot de passe oublié ?")
            .await;
        b.expect_page("forgot password form", "Mot de passe oublié")
            .await;
        b.fill("forgot password form", "Courriel", email).await;
        b.click_button("forgot password: submit", "Recevoir un lien")
            .await;
        b.expect_page("reset mail sent", "").await;
        let link = stack
            .link_in_newest_mail()
            .await
            .expect("a reset link in Sésame's outbox");
        b.goto(&link).await;
        b.expect_page("new password form", "mot de passe").await;
        b.fill(
            "new password form",
            "Nouveau mot de passe",
            "Nouveau-Secret-2026",
        )
        .await;
        b.fill("new password form", "Confirmation", "Nouveau-Secret-2026")
            .await;
        b.click_button("new password: submit", "Enregistrer le mot de passe")
            .await;
        // Signed in by the reset, in the browser that asked for the link:
        // the pending request carries on (docs/accounts.md).
        b.expect_page("consent after reset", CONSENT).await;
        b.click_button("consent: Accepter", "Accepter").await;
        b.expect_page("Rapprochement after reset", LINK).await;
    })
    .await;
}
