//! Whole authorization code flows with the `openidconnect` crate as the
//! relying party: the ID token and at_hash verified by the library.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::*;

struct Rp {
    metadata: CoreProviderMetadata,
    http: reqwest::Client,
}

async fn discover(server: &TestServer) -> Rp {
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .expect("discovery accepted by openidconnect");
    Rp { metadata, http }
}

/// Runs a full flow for `client_id`; returns (ID token claims' sub, userinfo email).
async fn full_flow(
    server: &TestServer,
    client_id: &str,
    secret: Option<&str>,
    auth_type: AuthType,
    alg: CoreJwsSigningAlgorithm,
) {
    let email = format!("{client_id}@example.test");
    let sub = server.add_user(&email, true).await;
    let rp = discover(server).await;
    let client = CoreClient::from_provider_metadata(
        rp.metadata.clone(),
        ClientId::new(client_id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_auth_type(auth_type);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let callback = sign_in_and_consent(server, &browser(), url.as_str(), &email).await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    let params = query(&callback);
    assert_eq!(params["state"], *csrf.secret(), "state echoed");
    assert_eq!(params["iss"], server.base, "RFC 9207 iss");

    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .expect("token response");
    let id_token = token.id_token().expect("an ID token");
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![alg.clone()]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verified by openidconnect");
    assert_eq!(claims.subject().as_str(), sub);
    assert!(claims.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash), "at_hash");
    assert_eq!(*id_token.signing_alg().unwrap(), alg);

    let info: CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), None)
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), sub);
    assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()));
    assert_eq!(info.email_verified(), Some(true));
    assert!(info.given_name().is_none(), "profile was not granted");
}

#[tokio::test]
async fn confidential_client_secret_basic() {
    let server = TestServer::start().await;
    full_flow(
        &server,
        "rp-basic",
        Some(BASIC_SECRET),
        AuthType::BasicAuth,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    )
    .await;
}

#[tokio::test]
async fn confidential_client_secret_post() {
    let server = TestServer::start().await;
    full_flow(
        &server,
        "rp-post",
        Some(POST_SECRET),
        AuthType::RequestBody,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    )
    .await;
}

#[tokio::test]
async fn public_client_with_pkce() {
    let server = TestServer::start().await;
    full_flow(
        &server,
        "spa",
        None,
        AuthType::RequestBody,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    )
    .await;
}

#[tokio::test]
async fn es256_id_tokens_for_a_client_that_asks() {
    let server = TestServer::start().await;
    full_flow(
        &server,
        "city-es256",
        Some(POST_SECRET),
        AuthType::BasicAuth,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    )
    .await;
}

/// Consent is remembered; a second client in the same browser gets its
/// code after its own consent; a known client with the same scopes gets a
/// code with no page at all.
#[tokio::test]
async fn consent_is_remembered_and_sessions_are_shared() {
    let server = TestServer::start().await;
    server.add_user("sso@example.test", true).await;
    let browser = browser();
    let url = |client: &str| {
        server.url(&format!(
            "/authorize?client_id={client}&redirect_uri={REDIRECT}&response_type=code&scope=openid%20email&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        ))
    };
    let first = sign_in_and_consent(&server, &browser, &url("rp-basic"), "sso@example.test").await;
    assert!(query(&first).contains_key("code"));

    let again = browser.get(url("rp-basic")).send().await.unwrap();
    let loc = location(&again);
    assert!(
        loc.starts_with(REDIRECT) && query(&loc).contains_key("code"),
        "no page the second time: {loc}"
    );

    let other = browser.get(url("spa")).send().await.unwrap();
    assert!(
        location(&other).starts_with("/consent"),
        "another client asks its own consent"
    );

    // A wider scope asks again.
    let wider = url("rp-basic").replace("openid%20email", "openid%20email%20profile");
    let response = browser.get(&wider).send().await.unwrap();
    assert!(location(&response).starts_with("/consent"));
}
