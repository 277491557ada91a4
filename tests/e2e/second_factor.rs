//! « Validation en deux étapes » in the browser: enrolment from the
//! security page, the key read off the page as text (as someone who cannot
//! scan would), the recovery codes shown once; then, signed out, a sign-in
//! to the portal — a `require_2fa` client here — with a code computed from
//! that key. Every page checked with axe-core and saved as a screenshot.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::browser::{Browser, run_with};
use crate::processes::PASSWORD;

/// The code of `key` (base32, spaces allowed) at Unix time `at`.
fn code(key: &str, at: u64) -> String {
    let compact: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let secret = totp_rs::Secret::try_from_base32(compact).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .unwrap()
        .generate(at)
        .to_string()
}

/// Now, at least 4 s from a step boundary (the server sees the same step).
async fn mid_step() -> u64 {
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

/// A code of six equal digits that none of the steps the server could
/// accept around now gives: a wrong code that is wrong for sure.
fn wrong_code(key: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let near: Vec<String> = (0..5).map(|i| code(key, now - 60 + 30 * i)).collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

async fn text_of(b: &Browser, id: &str) -> String {
    b.script(&format!(
        "return document.getElementById('{id}').textContent;"
    ))
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test]
async fn enrol_by_reading_the_key_then_sign_in_with_a_code_to_a_service_that_requires_it() {
    run_with(
        "second_factor_enrol_then_sign_in",
        "require_2fa = true",
        |stack, mut b| async move {
            let email = "deux-etapes@example.test";
            stack.add_citizen(email);
            b.goto(&format!("{}/login", stack.sesame)).await;
            b.expect_page("Sésame login", "Se connecter").await;
            b.fill("login", "Courriel", email).await;
            b.fill("login", "Mot de passe", PASSWORD).await;
            b.click_button("login: submit", "Se connecter").await;
            b.expect_page("signed in", "Votre compte").await;
            b.goto(&format!("{}/account/security", stack.sesame)).await;
            b.expect_page("security", "Sécurité").await;
            b.expect_text("security", "La validation en deux étapes n'est pas activée")
                .await;
            b.click_link("security: manage", "Gérer la validation en deux étapes")
                .await;
            b.expect_page("two-step: off", "Validation en deux étapes")
                .await;
            b.click_button("two-step: start", "Activer la validation en deux étapes")
                .await;
            b.expect_page("two-step: the key", "Activer la validation en deux étapes")
                .await;
            let key = text_of(&b, "totp-key").await;
            assert_eq!(
                key.split(' ').count(),
                8,
                "the key in groups of four: {key}"
            );
            let now = mid_step().await;
            b.fill("two-step: code", "Code de validation", &code(&key, now))
                .await;
            b.click_button("two-step: confirm", "Activer").await;
            b.expect_page("recovery codes", "Vos codes de secours")
                .await;
            let shown = b
                .script("return document.querySelectorAll('.recovery-codes li').length;")
                .await;
            assert_eq!(shown, serde_json::json!(10));
            let print = b
                .script("return !document.getElementById('print').hidden;")
                .await;
            assert_eq!(
                print,
                serde_json::json!(true),
                "the script shows « Imprimer »"
            );
            b.click_link("recovery codes: done", "J'ai noté mes codes")
                .await;
            b.expect_page("two-step: on", "Validation en deux étapes")
                .await;
            b.expect_text("two-step: on", "Codes de secours restants : 10 sur 10.")
                .await;

            b.goto(&format!("{}/logout", stack.sesame)).await;
            b.expect_page("logout", "Se déconnecter").await;
            b.click_button("logout: confirm", "Se déconnecter").await;
            b.expect_page("signed out", "Vous êtes déconnecté").await;

            b.goto(&stack.portal("/")).await;
            b.click_link("portal home: Se connecter", "Se connecter")
                .await;
            b.expect_page("Sésame login for the portal", "Se connecter")
                .await;
            b.fill("login", "Courriel", email).await;
            b.fill("login", "Mot de passe", PASSWORD).await;
            b.click_button("login: submit", "Se connecter").await;
            b.expect_page("the code step", "Validation en deux étapes")
                .await;
            b.expect_text("the code step", "Espace Citoyens").await;
            let wrong = wrong_code(&key);
            b.fill("the code step: a wrong code", "Code de validation", &wrong)
                .await;
            b.click_button("the code step: submit", "Valider").await;
            b.expect_page("the code step: refused", "Validation en deux étapes")
                .await;
            b.expect_text("the code step: refused", "Ce code n'est pas valable")
                .await;
            // The enrolment used this step's code: the next step's is in reach.
            let now = mid_step().await;
            b.fill("the code step", "Code de validation", &code(&key, now + 30))
                .await;
            b.click_button("the code step: submit", "Valider").await;
            b.expect_page("consent", "Consentement pour le site Espace Citoyens")
                .await;
            b.click_button("consent: Accepter", "Accepter").await;
            b.expect_page("portal: Rapprochement", "Rapprochement")
                .await;
        },
    )
    .await;
}
