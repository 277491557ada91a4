//! Services that require a second factor: `require_2fa = true` in
//! clients.toml, or `acr_values` asking for the multi-factor level. A
//! citizen with a factor proves it, one without is guided through
//! enrolment and back to the same authorization request, an existing
//! password-only session is stepped up (same `sid`), `prompt=none` hears
//! `interaction_required`; ID tokens carry `amr` (RFC 8176) and `acr`,
//! checked through the `openidconnect` crate; discovery lists the levels.

use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, Scope,
};

use crate::helpers::*;
use crate::mfa::{answer, code, enrol_from, enrolled, mid_step};
use crate::rp::*;

const MFA: &str = "https://refeds.org/profile/mfa";
const SFA: &str = "https://refeds.org/profile/sfa";

/// `rp-mfa`: the city's family file, which requires a second factor.
async fn server() -> TestServer {
    let secret = sesame::secrets::sha256_prefixed(BASIC_SECRET);
    TestServer::start_with_clients(&format!(
        r#"
[[client]]
id = "rp-mfa"
name = "Dossier famille"
secret = "{secret}"
redirect_uris = ["{REDIRECT}"]
scopes = ["openid", "email"]
consent = "implicit"
require_2fa = true
"#
    ))
    .await
}

/// An authorization request of `client` (with `acr` asked for, and
/// `prompt=none`, when given), and what redeems its code.
struct Request {
    url: String,
    verifier: PkceCodeVerifier,
    nonce: Nonce,
}

fn request(client: &RpClient, acr: Option<&str>, none: bool) -> Request {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut r = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge);
    if let Some(acr) = acr {
        r = r.add_auth_context_value(AuthenticationContextClass::new(acr.into()));
    }
    if none {
        r = r.add_prompt(CoreAuthPrompt::None);
    }
    let (url, _, nonce) = r.url();
    Request {
        url: url.to_string(),
        verifier,
        nonce,
    }
}

/// Redeems the code of `callback`; returns the ID token's verified `acr`,
/// `amr` and `sid`.
async fn redeem_verified(
    client: &RpClient,
    r: Request,
    callback: &str,
) -> (Option<String>, Vec<String>, String) {
    let code = query(callback)["code"].clone();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(r.verifier)
        .request_async(&rp_http())
        .await
        .expect("token response");
    use openidconnect::TokenResponse;
    let id_token = token.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &r.nonce)
        .expect("ID token verified");
    let acr = claims.auth_context_ref().map(|a| a.to_string());
    let amr = claims
        .auth_method_refs()
        .map(|m| m.iter().map(|m| m.to_string()).collect())
        .unwrap_or_default();
    let sid = jwt_claims(&id_token.to_string())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    (acr, amr, sid)
}

/// The link of the recovery codes page that goes back to the request.
fn continue_link(codes_page: &str) -> String {
    let start = codes_page.find("href=\"/login/code?interaction=").unwrap() + 6;
    let end = codes_page[start..].find('"').unwrap() + start;
    codes_page[start..end].to_owned()
}

#[tokio::test]
async fn a_citizen_without_a_factor_is_guided_through_enrolment_back_to_the_service() {
    let server = server().await;
    let email = "famille@example.test";
    server.add_user(email, true).await;
    let client = rp(&server, "rp-mfa", Some(BASIC_SECRET)).await;
    let r = request(&client, None, false);
    let b = browser();
    let login = location(&b.get(&r.url).send().await.unwrap());
    let enrol = submit_login(&server, &b, &login, email).await;
    assert!(
        enrol.starts_with("/account/security/totp?interaction="),
        "{enrol}"
    );
    let (_, codes) = enrol_from(&server, &b, &enrol).await;
    assert!(
        codes.contains("continuer vers « Dossier famille »"),
        "{codes}"
    );
    let back = b
        .get(server.url(&continue_link(&codes)))
        .send()
        .await
        .unwrap();
    let callback = location(&back);
    assert!(
        callback.starts_with(REDIRECT),
        "the same request: {callback}"
    );
    let (acr, amr, _) = redeem_verified(&client, r, &callback).await;
    assert_eq!(acr.as_deref(), Some(MFA));
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
}

#[tokio::test]
async fn a_citizen_with_a_factor_types_a_code_and_reaches_the_service() {
    let server = server().await;
    let email = "avec-code@example.test";
    let (_, key, _) = enrolled(&server, email).await;
    let client = rp(&server, "rp-mfa", Some(BASIC_SECRET)).await;
    let r = request(&client, None, false);
    let b = browser();
    let login = location(&b.get(&r.url).send().await.unwrap());
    let step = submit_login(&server, &b, &login, email).await;
    assert!(step.starts_with("/login/code?interaction="), "{step}");
    let html = unescape(&text_of(&b, server.url(&step)).await);
    assert!(html.contains("Dossier famille"), "the service is named");
    let now = mid_step().await;
    let done = answer(&server, &b, &step, "code", &code(&key, now + 30)).await;
    let callback = location(&done);
    assert!(callback.starts_with(REDIRECT), "{callback}");
    let (acr, amr, _) = redeem_verified(&client, r, &callback).await;
    assert_eq!(acr.as_deref(), Some(MFA));
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
}

#[tokio::test]
async fn a_password_only_session_is_stepped_up_not_restarted() {
    let server = server().await;
    let email = "montee@example.test";
    server.add_user(email, true).await;
    let b = browser();
    let basic = rp(&server, "rp-basic", Some(BASIC_SECRET)).await;
    let first = code_flow(&server, &b, &basic, &["email"], email).await;
    let plain = jwt_claims(&first.id_token.to_string());
    assert_eq!(plain["acr"], SFA, "a password alone: single factor");
    assert_eq!(plain["amr"], serde_json::json!(["pwd"]));

    let client = rp(&server, "rp-mfa", Some(BASIC_SECRET)).await;
    let none = request(&client, None, true);
    let refused = location(&b.get(&none.url).send().await.unwrap());
    assert_eq!(
        query(&refused)["error"],
        "interaction_required",
        "{refused}"
    );

    let r = request(&client, None, false);
    let enrol = location(&b.get(&r.url).send().await.unwrap());
    assert!(
        enrol.starts_with("/account/security/totp?interaction="),
        "no password asked again: {enrol}"
    );
    let (_, codes) = enrol_from(&server, &b, &enrol).await;
    let back = b
        .get(server.url(&continue_link(&codes)))
        .send()
        .await
        .unwrap();
    let (acr, amr, sid) = redeem_verified(&client, r, &location(&back)).await;
    assert_eq!((acr.as_deref(), amr.len()), (Some(MFA), 3));
    assert_eq!(sid, first.sid, "the same session, stepped up");
}

#[tokio::test]
async fn acr_values_asking_for_the_second_factor_level_are_honoured() {
    let server = server().await;
    let email = "niveau@example.test";
    server.add_user(email, true).await;
    let b = browser();
    let basic = rp(&server, "rp-basic", Some(BASIC_SECRET)).await;
    code_flow(&server, &b, &basic, &["email"], email).await;
    let unknown = request(&basic, Some("urn:example:unknown"), false);
    let answered = location(&b.get(&unknown.url).send().await.unwrap());
    assert!(
        answered.starts_with(REDIRECT),
        "unknown values are ignored: {answered}"
    );
    let r = request(&basic, Some(MFA), false);
    let step = location(&b.get(&r.url).send().await.unwrap());
    assert!(
        step.starts_with("/account/security/totp?interaction="),
        "{step}"
    );
}

#[tokio::test]
async fn discovery_lists_the_levels() {
    let server = server().await;
    let doc: serde_json::Value = rp_http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["acr_values_supported"], serde_json::json!([SFA, MFA]));
}
