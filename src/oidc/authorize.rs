//! Authorization request validation (RFC 6749 §4.1.1, OIDC Core §3.1.2.1,
//! RFC 7636, RFC 9700). Until the client and its redirect URI are trusted,
//! errors are shown to the citizen and never redirected; after, they go back
//! to the client with `state` and `iss`.

use serde::{Deserialize, Serialize};

use super::params::{MAX_VALUE_LEN, Params};
use super::scopes::{ClaimsRequest, consent_scopes};
use super::{ErrorCode, OAuthError, pkce};
use crate::config::{Client, Clients};
use crate::protocol::{ClientId, RedirectUri, Scope, Scopes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// Where an authorization response goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnTo {
    pub redirect_uri: RedirectUri,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request; stored as the pending interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: ClientId,
    pub return_to: ReturnTo,
    /// Requested scopes.
    pub scopes: Scopes,
    /// What the consent covers: the scopes plus those of requested claims.
    pub consent_scopes: Scopes,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// The `claims` parameter, validated JSON.
    pub claims: Option<String>,
    /// `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    /// `acr_values` asked for the second-factor level ([`super::acr`]).
    #[serde(default)]
    pub second_factor: bool,
}

/// Why a request was refused, and where the refusal goes.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page.
    Untrusted(String),
    /// Send the error back to the client.
    Redirect(ReturnTo, OAuthError),
}

const MAX_NONCE_LEN: usize = 512;
/// Largest pending request stored for an unauthenticated visitor: room for
/// a long `state` or a long `claims`, not for both at the cap.
const MAX_PENDING_BYTES: usize = 12 * 1024;

/// Validates the parameters of an authorization request. `hint_sub` checks
/// an `id_token_hint` and returns its `sub`.
pub fn validate(
    params: &Params,
    clients: &Clients,
    hint_sub: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthRequest, AuthorizeError> {
    let (client, redirect_uri) = trusted_client(params, clients)?;
    // From here on, errors are redirected to a registered URI.
    let response_mode = match params.first("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err(OAuthError::invalid_request(
            "response_mode must be query or form_post",
        )),
    };
    let return_to = ReturnTo {
        redirect_uri: redirect_uri.clone(),
        response_mode: *response_mode.as_ref().unwrap_or(&ResponseMode::Query),
        // Echoed only within the cap every parameter has.
        state: params
            .first("state")
            .filter(|s| s.len() <= MAX_VALUE_LEN)
            .map(str::to_owned),
    };
    let fail = |e: OAuthError| AuthorizeError::Redirect(return_to.clone(), e);
    if let Some(name) = params.repeated() {
        return Err(fail(OAuthError::invalid_request(format!(
            "the {name} parameter is repeated"
        ))));
    }
    if let Some(name) = params.oversized() {
        return Err(fail(OAuthError::invalid_request(format!(
            "the {} parameter is too long",
            printable(name)
        ))));
    }
    response_mode.map_err(fail)?;
    let request = check(params, client, return_to.clone(), hint_sub).map_err(fail)?;
    if request.stored_size() > MAX_PENDING_BYTES {
        return Err(fail(OAuthError::invalid_request(
            "the authorization request is too large",
        )));
    }
    Ok(request)
}

impl AuthRequest {
    /// About how many bytes the pending request takes once stored: the
    /// variable parts plus a margin for the JSON around them.
    fn stored_size(&self) -> usize {
        let optional = [
            &self.return_to.state,
            &self.nonce,
            &self.code_challenge,
            &self.login_hint,
            &self.ui_locales,
            &self.claims,
            &self.hint_sub,
        ];
        512 + self.client_id.as_str().len()
            + self.return_to.redirect_uri.as_str().len()
            + self
                .scopes
                .iter()
                .chain(self.consent_scopes.iter())
                .map(|s| s.as_str().len() + 3)
                .sum::<usize>()
            + optional
                .iter()
                .filter_map(|v| v.as_ref())
                .map(String::len)
                .sum::<usize>()
    }
}

fn trusted_client<'a>(
    params: &'a Params,
    clients: &'a Clients,
) -> Result<(&'a Client, &'a RedirectUri), AuthorizeError> {
    let untrusted = |m: &str| AuthorizeError::Untrusted(m.to_owned());
    let client_id = params
        .get("client_id")
        .map_err(|_| untrusted("client_id is repeated"))?
        .ok_or_else(|| untrusted("client_id is missing"))?;
    let client = clients
        .get(client_id)
        .ok_or_else(|| untrusted("unknown client_id"))?;
    let redirect_uri = params
        .get("redirect_uri")
        .map_err(|_| untrusted("redirect_uri is repeated"))?
        .ok_or_else(|| untrusted("redirect_uri is missing"))?;
    let redirect_uri = client
        .redirect_uri(redirect_uri)
        .ok_or_else(|| untrusted("redirect_uri is not registered for this client"))?;
    Ok((client, redirect_uri))
}

fn check(
    params: &Params,
    client: &Client,
    return_to: ReturnTo,
    hint_sub: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthRequest, OAuthError> {
    if params.get("request")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type")? {
        None => return Err(OAuthError::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows(crate::config::GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    let scopes = scopes(params.get("scope")?, client)?;
    let code_challenge = code_challenge(params, client)?;
    let prompt = prompt(params.get("prompt")?)?;
    let max_age = match params.get("max_age")? {
        None => None,
        Some(v) => Some(
            v.parse::<u32>()
                .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer"))?
                .into(),
        ),
    };
    let nonce = params.get("nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(OAuthError::invalid_request("nonce is too long"));
    }
    let claims = params.get("claims")?.map(str::to_owned);
    let claims_request = match &claims {
        Some(json) => ClaimsRequest::parse(json).map_err(OAuthError::invalid_request)?,
        None => ClaimsRequest::default(),
    };
    let hint_sub = match params.get("id_token_hint")? {
        None => None,
        Some(hint) => Some(hint_sub(hint).ok_or_else(|| {
            OAuthError::invalid_request("id_token_hint is not an ID token issued here")
        })?),
    };
    let second_factor = params
        .get("acr_values")?
        .is_some_and(super::acr::asks_second_factor);
    // Accepted and, where they make no difference here, ignored.
    for name in ["display", "claims_locales"] {
        params.get(name)?;
    }
    let consent_scopes = consent_scopes(scopes, &claims_request, client.scopes);
    Ok(AuthRequest {
        client_id: client.id.clone(),
        return_to,
        scopes,
        consent_scopes,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: params
            .get("login_hint")?
            .map(|h| h.chars().take(254).collect()),
        ui_locales: params
            .get("ui_locales")?
            .map(|h| h.chars().take(64).collect()),
        claims,
        hint_sub,
        second_factor,
    })
}

fn scopes(scope: Option<&str>, client: &Client) -> Result<Scopes, OAuthError> {
    let scope = scope.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "scope is missing; it must contain openid",
        )
    })?;
    let scopes = Scopes::parse(scope).map_err(|unknown| {
        OAuthError::new(
            ErrorCode::InvalidScope,
            format!("unknown scope {}", printable(&unknown.0)),
        )
    })?;
    if let Some(refused) = scopes.iter().find(|s| !client.scopes.contains(*s)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("scope {refused} is not allowed for this client"),
        ));
    }
    if !scopes.contains(Scope::Openid) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope must contain openid",
        ));
    }
    Ok(scopes)
}

fn code_challenge(params: &Params, client: &Client) -> Result<Option<String>, OAuthError> {
    let invalid = |m: &'static str| Err(OAuthError::invalid_request(m));
    // RFC 7636 §4.3: no method means `plain`, which RFC 9700 §2.1.1 rules out.
    match (
        params.get("code_challenge")?,
        params.get("code_challenge_method")?,
    ) {
        (_, Some("plain")) => invalid("code_challenge_method plain is not allowed; use S256"),
        (_, Some(m)) if m != "S256" => invalid("code_challenge_method must be S256"),
        (None, _) if client.is_public() => {
            invalid("PKCE is required: send code_challenge with S256")
        }
        (None, _) => Ok(None),
        (Some(_), None) => invalid("code_challenge_method=S256 is required with code_challenge"),
        (Some(c), Some(_)) if pkce::is_valid_challenge(c) => Ok(Some(c.to_owned())),
        (Some(_), Some(_)) => invalid("code_challenge is not a base64url SHA-256 value"),
    }
}

fn prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for p in value
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
    {
        match p {
            "none" => prompt.none = true,
            // No account chooser: choosing an account means signing in again.
            "login" | "select_account" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => {
                return Err(OAuthError::invalid_request(
                    "prompt must be none, login, consent or select_account",
                ));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// A value safe to echo in an error description (RFC 6749 restricts it to
/// printable ASCII without `"` and `\`).
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn clients() -> Clients {
        Clients::parse(
            r#"
[[client]]
id = "rp"
secret = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
redirect_uris = ["https://rp.example/cb"]
scopes = ["openid", "email", "profile"]
[[client]]
id = "spa"
auth_method = "none"
redirect_uris = ["https://spa.example/cb"]
"#,
            Path::new("clients.toml"),
        )
        .unwrap()
    }

    fn run(query: &str) -> Result<AuthRequest, AuthorizeError> {
        validate(&Params::parse(query.as_bytes()), &clients(), &|h| {
            (h == "good").then(|| "sub-1".to_owned())
        })
    }

    const OK: &str = "client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=email%20openid&state=xyz";

    fn redirected(query: &str) -> (ReturnTo, ErrorCode) {
        match run(query) {
            Err(AuthorizeError::Redirect(to, e)) => (to, e.code),
            other => panic!("{query}: expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_request_keeps_everything() {
        let req = run(&format!(
            "{OK}&nonce=n&prompt=consent&max_age=60&login_hint=a%40b.c&unknown=1"
        ))
        .unwrap();
        assert_eq!(req.scopes.to_string(), "openid email");
        assert_eq!(req.return_to.state.as_deref(), Some("xyz"));
        assert_eq!(req.nonce.as_deref(), Some("n"));
        assert!(req.prompt.consent);
        assert_eq!(req.max_age, Some(60));
        assert_eq!(req.login_hint.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn untrusted_client_or_redirect_is_never_redirected() {
        for q in [
            "redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid",
            "client_id=nobody&redirect_uri=https%3A%2F%2Frp.example%2Fcb",
            "client_id=rp&response_type=code&scope=openid",
            "client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb%2F",
            "client_id=rp&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            "client_id=rp&client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb",
        ] {
            assert!(matches!(run(q), Err(AuthorizeError::Untrusted(_))), "{q}");
        }
    }

    #[test]
    fn errors_after_trust_are_redirected_with_state() {
        let cases = [
            (
                OK.replace("scope=email%20openid", "scope=email"),
                ErrorCode::InvalidScope,
            ),
            (
                OK.replace("scope=email%20openid", "scope=openid%20wat"),
                ErrorCode::InvalidScope,
            ),
            (
                OK.replace("scope=email%20openid", "scope=openid%20roles"),
                ErrorCode::InvalidScope,
            ),
            (
                OK.replace("response_type=code", "response_type=token"),
                ErrorCode::UnsupportedResponseType,
            ),
            (
                OK.replace("response_type=code", ""),
                ErrorCode::InvalidRequest,
            ),
            (format!("{OK}&request=x"), ErrorCode::RequestNotSupported),
            (
                format!("{OK}&request_uri=x"),
                ErrorCode::RequestUriNotSupported,
            ),
            (format!("{OK}&scope=openid"), ErrorCode::InvalidRequest),
            (
                format!("{OK}&prompt=none%20login"),
                ErrorCode::InvalidRequest,
            ),
            (format!("{OK}&max_age=-1"), ErrorCode::InvalidRequest),
            (format!("{OK}&claims=%7Bx"), ErrorCode::InvalidRequest),
            (format!("{OK}&id_token_hint=bad"), ErrorCode::InvalidRequest),
            (
                format!("{OK}&code_challenge=abc&code_challenge_method=plain"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("{OK}&response_mode=fragment"),
                ErrorCode::InvalidRequest,
            ),
        ];
        for (q, code) in cases {
            let (to, got) = redirected(&q);
            assert_eq!(got, code, "{q}");
            assert_eq!(to.state.as_deref(), Some("xyz"), "{q}");
        }
    }

    #[test]
    fn public_clients_need_s256_pkce() {
        let base = "client_id=spa&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&response_type=code&scope=openid";
        assert_eq!(redirected(base).1, ErrorCode::InvalidRequest);
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let ok = run(&format!(
            "{base}&code_challenge={challenge}&code_challenge_method=S256"
        ))
        .unwrap();
        assert_eq!(ok.code_challenge.as_deref(), Some(challenge));
        assert_eq!(
            redirected(&format!("{base}&code_challenge={challenge}")).1,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn id_token_hint_gives_its_subject() {
        let req = run(&format!("{OK}&id_token_hint=good&prompt=none")).unwrap();
        assert_eq!(req.hint_sub.as_deref(), Some("sub-1"));
        assert!(req.prompt.none);
    }
}
