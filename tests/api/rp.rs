//! A relying party built with the `openidconnect` crate from the discovery
//! document (revocation and introspection endpoints included), and the
//! helpers the token-lifecycle, logout and SSO tests share.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AccessToken, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RevocationUrl, Scope, TokenResponse,
};

use crate::helpers::*;

pub type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// `client_id` as a relying party, every endpoint taken from discovery.
pub async fn rp(server: &TestServer, client_id: &str, secret: Option<&str>) -> RpClient {
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let doc: serde_json::Value = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let endpoint = |key: &str| doc[key].as_str().unwrap().to_owned();
    let auth_type = match client_id {
        "rp-post" | "spa" => AuthType::RequestBody,
        _ => AuthType::BasicAuth,
    };
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_auth_type(auth_type)
    .set_revocation_url(
        RevocationUrl::new(endpoint("revocation_endpoint").replacen("http:", "https:", 1)).unwrap(),
    )
    .set_introspection_url(IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap())
}

/// The `openidconnect` crate insists on an https revocation endpoint (RFC
/// 7009 §2) and the test server speaks http on loopback: [`rp`] gives the
/// crate the discovered URL as https, and revocation requests go through
/// this HTTP client, which sends them to the same URL over http.
pub async fn loopback(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string().replacen("https:", "http:", 1);
    let response = rp_http()
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let (status, headers) = (response.status(), response.headers().clone());
    let mut answer = openidconnect::http::Response::new(response.bytes().await?.to_vec());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// What a relying party holds after a code flow.
pub struct Signed {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
    pub id_token: CoreIdToken,
    pub sub: String,
    pub sid: String,
}

/// Runs a code flow for `client` with `scopes` (besides openid) in
/// `browser`, signing in as `email` and consenting if asked.
pub async fn code_flow(
    server: &TestServer,
    browser: &reqwest::Client,
    client: &RpClient,
    scopes: &[&str],
    email: &str,
) -> Signed {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).into()));
    }
    let (url, _, nonce) = request.url();
    let callback = sign_in_and_consent(server, browser, url.as_str(), email).await;
    let code = query(&callback)["code"].clone();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http())
        .await
        .expect("token response");
    let id_token = token.id_token().expect("an ID token").clone();
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token verified");
    let raw = jwt_claims(&id_token.to_string());
    Signed {
        access: token.access_token().clone(),
        refresh: token.refresh_token().cloned(),
        sub: claims.subject().to_string(),
        sid: raw["sid"].as_str().unwrap().to_owned(),
        id_token,
    }
}

/// A citizen signed in to `rp-basic` with `offline_access`.
pub async fn offline(server: &TestServer, email: &str) -> (reqwest::Client, RpClient, Signed) {
    server.add_user(email, true).await;
    let client = rp(server, "rp-basic", Some(BASIC_SECRET)).await;
    let browser = browser();
    let signed = code_flow(
        server,
        &browser,
        &client,
        &["email", "offline_access"],
        email,
    )
    .await;
    assert!(
        signed.refresh.is_some(),
        "offline_access gives a refresh token"
    );
    (browser, client, signed)
}

/// The status userinfo answers for `token`.
pub async fn userinfo_status(server: &TestServer, token: &str) -> u16 {
    rp_http()
        .get(server.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A raw POST to `path` as `client_id` (basic for rp-basic and service,
/// body otherwise); returns the status and the JSON body (or Null).
pub async fn post_as(
    server: &TestServer,
    path: &str,
    client_id: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut request = rp_http().post(server.url(path));
    match client_id {
        "rp-basic" => request = request.basic_auth("rp-basic", Some(BASIC_SECRET)),
        "service" => request = request.basic_auth("service", Some(CC_SECRET)),
        "rp-post" => form.extend([("client_id", "rp-post"), ("client_secret", POST_SECRET)]),
        "" => {}
        other => form.push(("client_id", other)),
    }
    let response = request.form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

/// Whether `client_id` sees `token` as active at the introspection endpoint.
pub async fn active(server: &TestServer, client_id: &str, token: &str) -> bool {
    let (status, body) = post_as(server, "/introspect", client_id, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body["active"].as_bool().unwrap()
}

/// The published JWKS, for verifying tokens.
pub async fn jwks(server: &TestServer) -> serde_json::Value {
    rp_http()
        .get(server.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An authorization URL for `client_id` (PKCE S256, scope openid email).
pub fn authorize_url(server: &TestServer, client_id: &str, extra: &str) -> String {
    server.url(&format!(
        "/authorize?client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid%20email&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    ))
}

/// Where the browser is sent by an authorization request with
/// `prompt=none` for `client_id`: the code or the error.
pub async fn silent(server: &TestServer, browser: &reqwest::Client, client_id: &str) -> String {
    let response = browser
        .get(authorize_url(server, client_id, "&prompt=none"))
        .send()
        .await
        .unwrap();
    let params = query(&location(&response));
    params
        .get("code")
        .map(|_| "code".to_owned())
        .or_else(|| params.get("error").cloned())
        .unwrap()
}
