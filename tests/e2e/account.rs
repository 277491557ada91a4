//! « Mon compte » in the browser: every account page checked with axe-core
//! and saved as a screenshot; a profile edit seen by the portal after
//! « Mettre à jour mes informations »; the portal's access withdrawn and
//! the consent page back at the next sign-in; an account deleted.

use crate::browser::{Browser, run};
use crate::processes::{PASSWORD, Stack};

const CONSENT: &str = "Consentement pour le site Espace Citoyens";
const PORTAL_ACCOUNT: &str = "Mon compte";

async fn sign_in_to_the_portal(b: &mut Browser, stack: &Stack, email: &str) {
    stack.add_citizen(email);
    b.goto(&stack.portal("/")).await;
    b.click_link("portal home: Se connecter", "Se connecter")
        .await;
    b.expect_page("Sésame login", "Se connecter").await;
    b.fill("Sésame login", "Courriel", email).await;
    b.fill("Sésame login", "Mot de passe", PASSWORD).await;
    b.click_button("Sésame login: submit", "Se connecter").await;
    b.expect_page("consent", CONSENT).await;
    b.click_button("consent: Accepter", "Accepter").await;
    b.expect_page("Rapprochement", "Rapprochement").await;
    b.click_link("Rapprochement: new espace", "Créer mon espace")
        .await;
    b.expect_page("new espace", "Création d'un espace personnel")
        .await;
    b.choose("new espace", "J'accepte les conditions générales")
        .await;
    b.click_button("new espace: submit", "Créer mon espace")
        .await;
    b.expect_page("activated", "Confirmation d'activation de l'espace")
        .await;
    b.click_link("activated", "J'accède à mon espace personnel")
        .await;
    b.expect_page("portal: Mon compte", PORTAL_ACCOUNT).await;
}

#[tokio::test]
async fn a_profile_edited_in_sesame_is_seen_by_the_portal_after_a_refresh() {
    run(
        "account_profile_seen_by_the_portal",
        |stack, mut b| async move {
            sign_in_to_the_portal(&mut b, &stack, "profil@example.test").await;
            b.expect_text("portal: Mon compte", "Mme Nathalie TEST")
                .await;
            b.click_link("portal: to Sésame", "Mon compte Sésame").await;
            b.expect_page("Sésame: Mon compte", "Mon compte").await;
            b.expect_path("Sésame: Mon compte", &format!("{}/account", stack.sesame))
                .await;
            for (link, heading) in [
                ("Sécurité", "Sécurité"),
                ("Appareils connectés", "Appareils connectés"),
                ("Applications", "Applications"),
                ("Mes données", "Mes données"),
                ("Profil", "Profil"),
            ] {
                b.click_link(&format!("Sésame: {link}"), link).await;
                b.expect_page(&format!("Sésame: {heading}"), heading).await;
            }
            b.fill("profile", "Prénoms", "Nathalie Claire").await;
            b.fill("profile", "Date de naissance", "2999-01-01").await;
            b.click_button("profile: a future birth date", "Enregistrer")
                .await;
            b.expect_page("profile with an error", "Profil").await;
            b.expect_text(
                "profile with an error",
                "La date de naissance ne peut pas être dans le futur.",
            )
            .await;
            b.fill("profile", "Date de naissance", "1977-01-31").await;
            b.click_button("profile: save", "Enregistrer").await;
            b.expect_page("profile saved", "Profil").await;
            b.expect_text("profile saved", "Vos modifications ont été enregistrées.")
                .await;
            b.goto(&stack.portal("/mon-compte")).await;
            b.expect_page("portal: before the refresh", PORTAL_ACCOUNT)
                .await;
            b.click_button("portal: refresh", "Mettre à jour mes informations")
                .await;
            b.expect_page("portal: after the refresh", PORTAL_ACCOUNT)
                .await;
            b.expect_text("portal: after the refresh", "Mme Nathalie Claire TEST")
                .await;
        },
    )
    .await;
}

#[tokio::test]
async fn withdrawing_the_portals_access_brings_the_consent_page_back() {
    run("account_withdraw_portal", |stack, mut b| async move {
        sign_in_to_the_portal(&mut b, &stack, "retrait@example.test").await;
        b.goto(&format!("{}/account/applications", stack.sesame))
            .await;
        b.expect_page("Sésame: Applications", "Applications").await;
        b.expect_text("Sésame: Applications", "Espace Citoyens")
            .await;
        b.click_button("withdraw", "Retirer l'accès — Espace Citoyens")
            .await;
        b.expect_page("withdrawn", "Applications").await;
        b.expect_text("withdrawn", "L'accès a été retiré.").await;
        b.expect_text(
            "withdrawn",
            "Vous n'avez donné votre consentement à aucun service.",
        )
        .await;
        // The next sign-in to the portal asks for consent again. (Both run on
        // 127.0.0.1, whose cookies ignore the port: this forgets both.)
        b.forget_cookies_of(&stack.portal("/")).await;
        b.goto(&stack.portal("/")).await;
        b.expect_page("portal home", "Bienvenue sur l'Espace Citoyens")
            .await;
        b.click_link("portal home: Se connecter", "Se connecter")
            .await;
        b.expect_page("Sésame login again", "Se connecter").await;
        b.fill("Sésame login", "Courriel", "retrait@example.test")
            .await;
        b.fill("Sésame login", "Mot de passe", PASSWORD).await;
        b.click_button("Sésame login: submit", "Se connecter").await;
        b.expect_page("consent again", CONSENT).await;
    })
    .await;
}

#[tokio::test]
async fn a_citizen_deletes_their_account() {
    run("account_delete", |stack, mut b| async move {
        let email = "depart@example.test";
        stack.add_citizen(email);
        b.goto(&format!("{}/login", stack.sesame)).await;
        b.expect_page("Sésame login", "Se connecter").await;
        b.fill("Sésame login", "Courriel", email).await;
        b.fill("Sésame login", "Mot de passe", PASSWORD).await;
        b.click_button("Sésame login: submit", "Se connecter").await;
        b.expect_page("Sésame home", "Votre compte").await;
        b.click_link("Sésame home: Mon compte", "Mon compte").await;
        b.expect_page("Mon compte", "Mon compte").await;
        b.click_link("Mes données", "Mes données").await;
        b.expect_page("Mes données", "Mes données").await;
        b.expect_text("Mes données", "La suppression est définitive.")
            .await;
        b.fill("delete", "Votre mot de passe", "Pas-Le-Bon-1").await;
        b.click_button(
            "delete: wrong password",
            "Supprimer définitivement mon compte",
        )
        .await;
        b.expect_page("delete refused", "Mes données").await;
        b.expect_text("delete refused", "Mot de passe incorrect.")
            .await;
        b.fill("delete", "Votre mot de passe", PASSWORD).await;
        b.click_button("delete", "Supprimer définitivement mon compte")
            .await;
        b.expect_page("deleted", "Compte supprimé").await;
        b.goto(&format!("{}/login", stack.sesame)).await;
        b.expect_page("Sésame login after deletion", "Se connecter")
            .await;
        b.fill("Sésame login", "Courriel", email).await;
        b.fill("Sésame login", "Mot de passe", PASSWORD).await;
        b.click_button("Sésame login: submit", "Se connecter").await;
        b.expect_page("login refused", "Se connecter").await;
        b.expect_text("login refused", "Courriel ou mot de passe incorrect.")
            .await;
    })
    .await;
}
