//! Each rule of the sign-up form, one test per rule: the
//! message next to the field, `aria-invalid` and `aria-describedby`, the
//! error summary, the values kept (never the passwords), no account made.

use crate::helpers::*;
use crate::signup::{citizen, field_errors, input, submit_signup};

/// Submits the form with `changes`; asserts the page names `message` on
/// `field`, marks the field invalid, lists it in the summary and keeps the
/// values typed (never the passwords).
async fn refused(changes: &[(&str, &str)], field: &str, message: &str) {
    refused_with("", changes, field, message).await;
}

async fn refused_with(config: &str, changes: &[(&str, &str)], field: &str, message: &str) {
    let server = TestServer::start_with(config).await;
    let b = browser();
    let form = citizen("rule@example.test", changes);
    let (status, html) = submit_signup(&server, &b, None, form).await;
    assert_eq!(status, 200);
    let errors = field_errors(&html, field);
    assert!(
        errors.contains(message),
        "{field}: want « {message} », got {errors}"
    );
    let element = input(
        &html,
        if field == "civilite" {
            "civilite"
        } else {
            field
        },
    );
    assert!(element.contains("aria-invalid=\"true\""), "{element}");
    if field != "civilite" {
        assert!(
            element.contains(&format!("{field}-error")),
            "aria-describedby: {element}"
        );
    }
    let page = unescape(&html);
    assert!(
        page.contains("Le formulaire contient des erreurs"),
        "summary"
    );
    assert!(
        page.contains(&format!("<a href=\"#{field}\">")),
        "summary links to the field"
    );
    assert!(!page.contains(PASSWORD), "passwords are never sent back");
    for (name, value) in changes {
        if !name.starts_with("password") && !value.is_empty() && *name != "civilite" {
            assert!(
                input(&html, name).contains(&format!("value=\"{value}\"")),
                "{name} kept"
            );
        }
    }
    if !changes.iter().any(|(n, _)| *n == "given_name") {
        assert!(
            input(&html, "given_name").contains("value=\"Jeanne\""),
            "values kept"
        );
    }
    let count: i64 = server
        .app
        .store
        .run(|conn| conn.query_i64("SELECT COUNT(*) FROM users"))
        .await
        .unwrap();
    assert_eq!(count, 0, "no account created");
}

fn both(password: &str) -> [(&'static str, String); 2] {
    [
        ("password", password.into()),
        ("password_confirm", password.into()),
    ]
}

async fn refused_password(password: &str, message: &str) {
    let [a, b] = both(password);
    refused(&[(a.0, &a.1), (b.0, &b.1)], "password", message).await;
}

#[tokio::test]
async fn rule_minimum_length() {
    refused_password(
        "Ab1-xyz",
        "Le mot de passe doit contenir au moins 8 caractères.",
    )
    .await;
}

#[tokio::test]
async fn rule_minimum_length_follows_the_setting() {
    let [a, b] = both("Tram7-Gentiane");
    refused_with(
        "[policy]\npassword_min_length = 16\n",
        &[(a.0, &a.1), (b.0, &b.1)],
        "password",
        "Le mot de passe doit contenir au moins 16 caractères.",
    )
    .await;
}

#[tokio::test]
async fn rule_lowercase() {
    refused_password(
        "TRAMWAY7-GENTIANE",
        "Le mot de passe doit contenir au moins une lettre minuscule.",
    )
    .await;
}

#[tokio::test]
async fn rule_uppercase() {
    refused_password(
        "tramway7-gentiane",
        "Le mot de passe doit contenir au moins une lettre majuscule.",
    )
    .await;
}

#[tokio::test]
async fn rule_digit() {
    refused_password(
        "Tramway-Gentiane",
        "Le mot de passe doit contenir au moins un chiffre.",
    )
    .await;
}

#[tokio::test]
async fn rule_symbol_when_configured() {
    let [a, b] = both("Tramway7Gentiane");
    refused_with(
        "[policy]\npassword_require = [\"lower\", \"upper\", \"digit\", \"symbol\"]\n",
        &[(a.0, &a.1), (b.0, &b.1)],
        "password",
        "Le mot de passe doit contenir au moins un caractère spécial",
    )
    .await;
}

#[tokio::test]
async fn every_unmet_rule_is_named_at_once() {
    let server = TestServer::start().await;
    let [a, b] = both("abc");
    let (_, html) = submit_signup(
        &server,
        &browser(),
        None,
        citizen("x@example.test", &[(a.0, &a.1), (b.0, &b.1)]),
    )
    .await;
    let errors = field_errors(&html, "password");
    for message in [
        "au moins 8 caractères",
        "une lettre majuscule",
        "un chiffre",
    ] {
        assert!(errors.contains(message), "{message}: {errors}");
    }
}

#[tokio::test]
async fn rule_common_breached_passwords() {
    for password in ["Azerty123", "Motdepasse1", "Password1"] {
        refused_password(password, "Ce mot de passe fait partie des plus courants").await;
    }
}

#[tokio::test]
async fn rule_guessable_by_zxcvbn() {
    refused_password("Wizard1989", "Ce mot de passe est trop facile à deviner").await;
}

#[tokio::test]
async fn rule_no_name_or_email_in_the_password() {
    let personal = "Le mot de passe ne doit contenir ni votre nom, ni votre prénom, ni votre adresse de courriel.";
    refused_password("Dupont-Tram7", personal).await;
    refused_password("Xx-Jeanne-Tram7", personal).await;
    let form = [
        ("email", "zebulon.k@example.test"),
        ("password", "Zebulon-Tram7"),
        ("password_confirm", "Zebulon-Tram7"),
    ];
    refused(&form, "password", personal).await;
}

#[tokio::test]
async fn rule_confirmation_must_match() {
    refused(
        &[("password_confirm", "Correct-Horse-43")],
        "password_confirm",
        "Les mots de passe sont différents.",
    )
    .await;
}

#[tokio::test]
async fn malformed_email_is_refused() {
    refused(
        &[("email", "jeanne.example.test")],
        "email",
        "L'adresse de courriel n'est pas valide.",
    )
    .await;
}

#[tokio::test]
async fn missing_fields_are_named() {
    refused(
        &[("given_name", "")],
        "given_name",
        "Ce champ est obligatoire.",
    )
    .await;
    refused(
        &[("family_name", "  ")],
        "family_name",
        "Ce champ est obligatoire.",
    )
    .await;
    refused(&[("civilite", "")], "civilite", "Ce champ est obligatoire.").await;
    refused(&[("email", "")], "email", "Ce champ est obligatoire.").await;
}
