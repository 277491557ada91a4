//! The password strength indicator in the browser: on the sign-up form,
//! a weak password then a strong one typed with the keyboard; the rules of
//! the policy ticked as they are met, the level estimated in the page, the
//! polite live region announcing it; axe-core clean with the indicator
//! filled; the focus goes on to the next field; the form still submits.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::{Browser, PATIENCE, run};
use crate::processes::PASSWORD;

const SIGNUP: &str = "Créer un compte";

/// What the indicator shows: each rule and whether it is ticked, the
/// level, the live region's text, and whether it is shown at all.
#[derive(Debug)]
struct Shown {
    visible: bool,
    rules: Vec<(String, bool)>,
    level: String,
    live: String,
}

async fn shown(b: &Browser) -> Shown {
    let v = b
        .script(
            "const box = document.getElementById('password-strength');
             return {
               visible: !box.hidden && box.offsetHeight > 0,
               rules: Array.from(box.querySelectorAll('[data-rule]'))
                 .map(li => [li.dataset.rule, li.classList.contains('met')]),
               level: box.querySelector('.strength-word').textContent,
               live: box.querySelector('[aria-live=polite]').textContent,
             };",
        )
        .await;
    let rules = v["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap_or_default().to_owned(),
                        r[1] == Value::Bool(true),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Shown {
        visible: v["visible"] == Value::Bool(true),
        rules,
        level: v["level"].as_str().unwrap_or_default().to_owned(),
        live: v["live"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Types `password` in the field labelled `label` and waits until the
/// live region says what the indicator shows (it speaks once typing
/// pauses); `said` words it in the page's language.
async fn type_in(
    b: &mut Browser,
    label: &str,
    password: &str,
    said: fn(&Shown) -> String,
) -> Shown {
    b.fill("indicator", label, password).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = shown(b).await;
        let said = said(&now);
        if now.live == said {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "« {password} »: the live region should say « {said} »: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn french(s: &Shown) -> String {
    let (met, total) = (met(s).len(), s.rules.len());
    format!(
        "Robustesse estimée : {}. Règles respectées : {met} sur {total}.",
        s.level
    )
}

fn english(s: &Shown) -> String {
    let (met, total) = (met(s).len(), s.rules.len());
    format!(
        "Estimated strength: {}. Rules met: {met} of {total}.",
        s.level
    )
}

async fn type_password(b: &mut Browser, password: &str) -> Shown {
    type_in(b, "Mot de passe", password, french).await
}

/// Scrolls the indicator into the screenshot.
async fn show_indicator(b: &Browser) {
    b.script("document.getElementById('password-strength').scrollIntoView({block: 'center'});")
        .await;
}

fn met(s: &Shown) -> Vec<&str> {
    s.rules
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(r, _)| r.as_str())
        .collect()
}

#[tokio::test]
async fn the_strength_indicator_ticks_the_rules_and_rates_weak_and_strong_passwords() {
    run("strength_indicator", |stack, mut b| async move {
        b.goto(&format!("{}/signup", stack.sesame)).await;
        b.expect_page("sign-up form", SIGNUP).await;
        let empty = shown(&b).await;
        assert!(empty.visible, "the script shows the indicator: {empty:?}");
        let rules: Vec<&str> = empty.rules.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rules, ["length", "lower", "upper", "digit", "common"]);
        assert!(met(&empty).is_empty(), "{empty:?}");

        let weak = type_password(&mut b, "azerty").await;
        assert_eq!(met(&weak), ["lower"], "{weak:?}");
        assert_eq!(weak.level, "très faible");
        assert!(
            weak.live.contains("Règles respectées : 1 sur 5."),
            "{weak:?}"
        );
        show_indicator(&b).await;
        b.check_now("a weak password typed").await;

        // Every character rule met, but a common password stays very weak.
        let common = type_password(&mut b, "Azerty123!").await;
        assert_eq!(met(&common), ["length", "lower", "upper", "digit"]);
        assert_eq!(common.level, "très faible");
        // A repeated character is never strong.
        // Nor a repeated character, nor a sequence.
        let repeated = type_password(&mut b, "Aaaaaaaaaaaa1").await;
        assert_eq!(met(&repeated).len(), 5, "{repeated:?}");
        assert_eq!(repeated.level, "très faible");
        let sequence = type_password(&mut b, "Lmnopqrs-34567").await;
        assert_eq!(met(&sequence).len(), 5, "{sequence:?}");
        assert!(
            ["très faible", "faible"].contains(&sequence.level.as_str()),
            "{sequence:?}"
        );

        // Nor a password holding the name typed above it.
        b.fill("sign-up form", "Nom", "Robuste").await;
        let personal = type_password(&mut b, "Robuste-Tramway-77").await;
        assert_eq!(met(&personal).len(), 5, "{personal:?}");
        assert!(
            ["très faible", "faible"].contains(&personal.level.as_str()),
            "{personal:?}"
        );

        let strong = type_password(&mut b, "Tramway7-Gentiane-Lune").await;
        assert_eq!(met(&strong).len(), 5, "{strong:?}");
        assert_eq!(strong.level, "très bonne");
        assert!(strong.live.contains("Règles respectées : 5 sur 5."));
        show_indicator(&b).await;
        b.check_now("a strong password typed").await;

        // The indicator takes no stop of the keyboard's way.
        assert_eq!(
            b.tab().await,
            "password_confirm",
            "Tab goes on to the confirmation"
        );

        b.choose("sign-up form", "Madame").await;
        b.fill("sign-up form", "Nom", "Robuste").await;
        b.fill("sign-up form", "Prénom", "Camille").await;
        b.fill("sign-up form", "Courriel", "robuste@example.test")
            .await;
        b.fill("sign-up form", "Confirmation", "Tramway7-Gentiane-Lune")
            .await;
        b.click_button("sign-up: submit", SIGNUP).await;
        b.expect_page("check your mail", "courriel").await;
        b.expect_text("check your mail", "Vous devez vérifier votre courriel")
            .await;
    })
    .await;
}

#[tokio::test]
async fn the_password_change_page_has_the_indicator_in_english_too() {
    run("strength_indicator_account", |stack, mut b| async move {
        let email = "robustesse@example.test";
        stack.add_citizen(email);
        b.goto(&format!("{}/login", stack.sesame)).await;
        b.expect_page("login", "Se connecter").await;
        b.fill("login", "Courriel", email).await;
        b.fill("login", "Mot de passe", PASSWORD).await;
        b.click_button("login: submit", "Se connecter").await;
        b.expect_page("signed in", "Votre compte").await;
        b.goto(&format!("{}/account/security?lang=en", stack.sesame))
            .await;
        b.expect_page("security, in English", "Security").await;

        let weak = type_in(&mut b, "New password", "nathalie", english).await;
        assert_eq!(weak.level, "very weak", "{weak:?}");
        assert_eq!(met(&weak), ["length", "lower"], "{weak:?}");
        let strong = type_in(&mut b, "New password", "Tramway7-Gentiane-Lune", english).await;
        assert_eq!(
            (strong.level.as_str(), met(&strong).len()),
            ("very good", 5)
        );
        show_indicator(&b).await;
        b.check_now("security: a strong new password typed").await;
        assert_eq!(b.tab().await, "password_confirm");
    })
    .await;
}
