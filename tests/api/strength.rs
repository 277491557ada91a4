//! The password strength indicator (static/strength.js) seen from outside:
//! the sign-up, reset and password-change pages list the rules of the
//! configured policy and load the script, which the CSP allows as a
//! same-origin file (never inline), served once built with a year's cache
//! and the JavaScript type. The form still posts without it, and the
//! server still refuses what its policy refuses.

use crate::helpers::*;
use crate::reset::{forgot, reset_link};
use crate::signup::{citizen, field_errors, submit_signup, with_smtp};

/// Length 12, lowercase, digit and symbol (no uppercase): not the default.
const POLICY: &str =
    "[policy]\npassword_min_length = 12\npassword_require = [\"lower\", \"digit\", \"symbol\"]\n";

/// The page at `url` as `b` sees it: its CSP and unescaped HTML.
async fn page(b: &reqwest::Client, url: &str) -> (String, String) {
    let response = b.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    (csp, unescape(&response.text().await.unwrap()))
}

/// The script's link on a page.
fn script_src(html: &str) -> String {
    let marker = "<script src=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no script:\n{html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The indicator of the configured policy, its script linked, no inline
/// script, and a CSP that allows only same-origin scripts.
fn assert_indicator(what: &str, csp: &str, html: &str) {
    assert!(
        html.contains("data-strength-for=\"password\""),
        "{what}: {html}"
    );
    assert!(
        html.contains("<li data-rule=\"length\" data-figure=\"12\">"),
        "{what}: the configured length"
    );
    assert!(html.contains("Au moins 12 caractères"), "{what}");
    for rule in ["lower", "digit", "symbol", "common"] {
        assert!(
            html.contains(&format!("data-rule=\"{rule}\"")),
            "{what}: {rule}"
        );
    }
    assert!(
        !html.contains("data-rule=\"upper\""),
        "{what}: not configured"
    );
    assert!(html.contains("1 caractère spécial") && html.contains("Pas un mot de passe courant"));
    assert!(
        html.contains("aria-live=\"polite\""),
        "{what}: announced politely"
    );
    assert!(
        script_src(html).starts_with("/static/strength.js?v="),
        "{what}"
    );
    assert!(!html.contains("<script>"), "{what}: no inline script");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(
        csp.contains("default-src 'none'"),
        "{what}: no connection: {csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
}

#[tokio::test]
async fn signup_reset_and_password_change_show_the_policys_rules_and_load_the_script() {
    let (server, sink) = with_smtp(POLICY).await;
    let b = browser();
    let (csp, signup) = page(&b, &server.url("/signup")).await;
    assert_indicator("sign-up", &csp, &signup);

    server.add_user("oubli@example.test", true).await;
    forgot(&server, &b, "oubli@example.test", None).await;
    let link = reset_link(&server, &sink, 1).await;
    let (csp, reset) = page(&b, &link).await;
    assert_indicator("reset", &csp, &reset);

    let (signed, _) = signed_in(&server, "compte@example.test").await;
    let (csp, security) = page(&signed, &server.url("/account/security")).await;
    assert_indicator("password change", &csp, &security);
    assert_eq!(script_src(&signup), script_src(&security), "one script");

    let (_, english) = page(&b, &server.url("/signup?lang=en")).await;
    assert!(english.contains("Your password must follow these rules:"));
    assert!(
        english.contains("At least 12 characters") && english.contains("Not a common password")
    );
    let (_, login) = page(&b, &server.url("/login")).await;
    assert!(
        !login.contains("<script"),
        "only the forms that choose a password"
    );
}

#[tokio::test]
async fn the_script_is_served_with_a_long_cache_and_the_javascript_type() {
    let server = TestServer::start().await;
    let b = browser();
    let (_, signup) = page(&b, &server.url("/signup")).await;
    let src = script_src(&signup);
    let response = b.get(server.url(&src)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/javascript; charset=utf-8");
    assert_eq!(
        header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("\"azerty\"") && body.contains("\"motdepasse\""),
        "the server's list is in"
    );
    assert!(!body.contains("/*COMMON_PASSWORDS*/"));
    assert!(body.contains("aria-live") || body.contains("[aria-live]"));

    // Another version (an old page, a made-up link) is not cached for long.
    let old = b
        .get(server.url("/static/strength.js?v=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.headers()["cache-control"], "public, max-age=300");
    assert_eq!(old.text().await.unwrap(), body, "the same script");
}

#[tokio::test]
async fn without_the_script_the_form_posts_and_the_server_still_refuses_a_weak_password() {
    let server = TestServer::start().await;
    let b = browser();
    for (weak, message) in [
        (
            "Azerty123!",
            "Ce mot de passe fait partie des plus courants",
        ),
        ("Aaaaaaaaaa1", "trop facile à deviner"),
    ] {
        let changes = [("password", weak), ("password_confirm", weak)];
        let form = citizen("faible@example.test", &changes);
        let (status, html) = submit_signup(&server, &b, None, form).await;
        assert_eq!(status, 200, "{weak}");
        let errors = field_errors(&html, "password");
        assert!(errors.contains(message), "{weak}: {errors}");
    }
    let form = citizen("solide@example.test", &[]);
    let (status, html) = submit_signup(&server, &b, None, form).await;
    assert_eq!(status, 200);
    assert!(
        unescape(&html).contains("Vous devez vérifier votre courriel"),
        "a password the policy accepts goes through: {html}"
    );
}
