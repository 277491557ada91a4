//! The portal as an OpenID Connect relying party, through the
//! `openidconnect` crate: discovery (with RP-Initiated Logout metadata),
//! the authorization URL (PKCE S256, `state`, `nonce`), the code exchange
//! with the ID token verified by the library, userinfo, refresh, and the
//! logout URL. The provider is discovered lazily and kept once found.

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode,
    ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, JsonWebKeySetUrl, LogoutProviderMetadata, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadata, RedirectUrl, RefreshToken, RequestTokenError, Scope, SubjectIdentifier,
    TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::{Config, paths};

/// What the portal asks for (the demo client is allowed all of these).
pub const SCOPES: &[&str] = &["email", "profile", "phone", "roles", "offline_access"];

/// Discovery fields beyond Core and RP-Initiated Logout that the portal reads.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: the provider puts `iss` in its authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    #[serde(default)]
    pub backchannel_logout_supported: Option<bool>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    LogoutProviderMetadata<ExtraMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A client with its authorization endpoint set and the token and
/// userinfo endpoints taken from discovery.
pub type PortalClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Sésame's `roles` claim (« Rôles utilisateur »).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RoleClaims {
    #[serde(default)]
    pub roles: Vec<String>,
}
impl AdditionalClaims for RoleClaims {}

/// A sign-in on its way to the provider, kept server-side in the session.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingLogin([redacted])")
    }
}

/// The claims the portal shows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Claims {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub gender: Option<String>,
    pub phone_number: Option<String>,
    pub roles: Vec<String>,
}

/// The signed-in citizen, as the provider told us.
#[derive(Clone, Serialize, Deserialize)]
pub struct Identity {
    pub sub: String,
    pub sid: Option<String>,
    pub id_token: String,
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: Option<String>,
    pub claims: Claims,
    pub claims_fetched_at: i64,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("sub", &self.sub)
            .field("tokens", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Why talking to the provider failed.
#[derive(Debug)]
pub enum RpError {
    /// Unreachable, or answered something unusable: try again later.
    Unavailable(String),
    /// The provider refused (invalid grant, revoked token…) or what it
    /// sent does not verify: the citizen must sign in again.
    Rejected(String),
}

impl std::fmt::Display for RpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RpError::Unavailable(e) => write!(f, "provider unavailable: {e}"),
            RpError::Rejected(e) => write!(f, "provider refused: {e}"),
        }
    }
}

fn rejected(e: impl std::fmt::Display) -> RpError {
    RpError::Rejected(e.to_string())
}

fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: RequestTokenError<RE, T>,
) -> RpError {
    match e {
        RequestTokenError::ServerResponse(r) => RpError::Rejected(r.to_string()),
        other => RpError::Unavailable(other.to_string()),
    }
}

/// The discovered provider.
pub struct Provider {
    pub client: PortalClient,
    pub end_session: Option<EndSessionUrl>,
    pub iss_parameter: bool,
    jwks_uri: JsonWebKeySetUrl,
    jwks: RwLock<(CoreJsonWebKeySet, i64)>,
}

pub struct Rp {
    http: reqwest::Client,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    post_logout: PostLogoutRedirectUrl,
    provider: RwLock<Option<Arc<Provider>>>,
}

impl Rp {
    pub fn new(config: &Config) -> Result<Rp, String> {
        let http = reqwest::Client::builder()
            // openidconnect's advice: never follow redirects (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Rp {
            http,
            issuer: IssuerUrl::new(config.issuer.clone())
                .map_err(|e| format!("issuer {}: {e}", config.issuer))?,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(config.client_secret.clone()),
            redirect: RedirectUrl::new(config.url(paths::CALLBACK))
                .map_err(|e| format!("public URL {}: {e}", config.public_url))?,
            post_logout: PostLogoutRedirectUrl::new(config.url(paths::HOME))
                .map_err(|e| format!("public URL {}: {e}", config.public_url))?,
            provider: RwLock::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    pub fn client_id(&self) -> &str {
        self.client_id.as_str()
    }

    /// The provider, discovered at first use.
    pub async fn provider(&self) -> Result<Arc<Provider>, RpError> {
        if let Some(p) = self.provider.read().await.as_ref() {
            return Ok(p.clone());
        }
        let metadata = Metadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| RpError::Unavailable(format!("discovery: {e}")))?;
        let additional = metadata.additional_metadata();
        let end_session = additional.end_session_endpoint.clone();
        let iss_parameter = additional
            .additional_metadata
            .authorization_response_iss_parameter_supported
            .unwrap_or(false);
        let jwks_uri = metadata.jwks_uri().clone();
        let jwks = metadata.jwks().clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone());
        let provider = Arc::new(Provider {
            client,
            end_session,
            iss_parameter,
            jwks_uri,
            jwks: RwLock::new((jwks, 0)),
        });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    /// The URL that sends the browser to the provider, and what must be
    /// kept to check its answer.
    pub async fn authorize(&self) -> Result<(String, PendingLogin), RpError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in SCOPES {
            request = request.add_scope(Scope::new((*scope).to_owned()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Redeems `code`, verifies the ID token (signature, issuer, audience,
    /// expiry, nonce, at_hash) and fetches userinfo.
    pub async fn finish(
        &self,
        pending: PendingLogin,
        code: &str,
        now: i64,
    ) -> Result<Identity, RpError> {
        let provider = self.provider().await?;
        let client = &provider.client;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(rejected)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = token
            .id_token()
            .ok_or_else(|| rejected("no ID token in the token response"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce))
            .map_err(rejected)?;
        if let Some(expected) = claims.access_token_hash() {
            let actual = AccessTokenHash::from_token(
                token.access_token(),
                id_token.signing_alg().map_err(rejected)?,
                id_token.signing_key(&verifier).map_err(rejected)?,
            )
            .map_err(rejected)?;
            if actual != *expected {
                return Err(rejected("at_hash does not match the access token"));
            }
        }
        let raw_id_token = id_token.to_string();
        let mut identity = Identity {
            sub: claims.subject().to_string(),
            sid: payload_string(&raw_id_token, "sid"),
            id_token: raw_id_token,
            access_token: token.access_token().secret().clone(),
            access_expires_at: now + expires_in(token.expires_in()),
            refresh_token: token.refresh_token().map(|r| r.secret().clone()),
            claims: Claims::default(),
            claims_fetched_at: now,
        };
        identity.claims = self.userinfo(&provider, &identity).await?;
        Ok(identity)
    }

    async fn userinfo(&self, provider: &Provider, identity: &Identity) -> Result<Claims, RpError> {
        let info: UserInfoClaims<RoleClaims, CoreGenderClaim> = provider
            .client
            .user_info(
                AccessToken::new(identity.access_token.clone()),
                Some(SubjectIdentifier::new(identity.sub.clone())),
            )
            .map_err(rejected)?
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::UserInfoError::Response(status, _, _)
                    if status.is_client_error() =>
                {
                    RpError::Rejected(format!("userinfo answered {status}"))
                }
                other => RpError::Unavailable(other.to_string()),
            })?;
        Ok(Claims {
            given_name: info
                .given_name()
                .and_then(|c| c.get(None))
                .map(|v| v.to_string()),
            family_name: info
                .family_name()
                .and_then(|c| c.get(None))
                .map(|v| v.to_string()),
            preferred_username: info.preferred_username().map(|v| v.to_string()),
            email: info.email().map(|v| v.to_string()),
            email_verified: info.email_verified(),
            gender: info.gender().map(|g| g.as_str().to_owned()),
            phone_number: info.phone_number().map(|v| v.to_string()),
            roles: info.additional_claims().roles.clone(),
        })
    }

    /// Renews the access token with the refresh token (rotated by Sésame:
    /// the new one replaces it).
    pub async fn refresh(&self, identity: &mut Identity, now: i64) -> Result<(), RpError> {
        let provider = self.provider().await?;
        let Some(current) = identity.refresh_token.clone() else {
            return Err(rejected("no refresh token"));
        };
        let current = RefreshToken::new(current);
        let token = provider
            .client
            .exchange_refresh_token(&current)
            .map_err(rejected)?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        identity.access_token = token.access_token().secret().clone();
        identity.access_expires_at = now + expires_in(token.expires_in());
        if let Some(next) = token.refresh_token() {
            identity.refresh_token = Some(next.secret().clone());
        }
        Ok(())
    }

    /// Fetches userinfo again, first renewing the access token when it has
    /// expired (or when userinfo refuses it).
    pub async fn renew_claims(&self, identity: &mut Identity, now: i64) -> Result<(), RpError> {
        let provider = self.provider().await?;
        let mut refreshed = false;
        if identity.access_expires_at <= now + 5 {
            self.refresh(identity, now).await?;
            refreshed = true;
        }
        let claims = match self.userinfo(&provider, identity).await {
            Ok(c) => c,
            Err(RpError::Rejected(_)) if !refreshed && identity.refresh_token.is_some() => {
                self.refresh(identity, now).await?;
                self.userinfo(&provider, identity).await?
            }
            Err(e) => return Err(e),
        };
        identity.claims = claims;
        identity.claims_fetched_at = now;
        Ok(())
    }

    /// RP-Initiated Logout: the provider's `end_session_endpoint` with
    /// `id_token_hint`, `post_logout_redirect_uri` and `state`; `None` when
    /// the provider has none (or was never reached).
    pub async fn logout_url(&self, identity: &Identity) -> Option<String> {
        let provider = self.provider.read().await.clone()?;
        let end_session = provider.end_session.clone()?;
        let id_token: openidconnect::core::CoreIdToken = identity.id_token.parse().ok()?;
        Some(
            LogoutRequest::from(end_session)
                .set_id_token_hint(&id_token)
                .set_client_id(self.client_id.clone())
                .set_post_logout_redirect_uri(self.post_logout.clone())
                .set_state(CsrfToken::new_random())
                .http_get_url()
                .to_string(),
        )
    }

    /// The provider's signing keys; fetched again (at most every 10 s) when
    /// `kid` is unknown, for keys rotated since discovery.
    pub async fn signing_keys(
        &self,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Vec<CoreJsonWebKey>, RpError> {
        let provider = self.provider().await?;
        let known = |set: &CoreJsonWebKeySet| match kid {
            Some(kid) => set
                .keys()
                .iter()
                .any(|k| openidconnect::JsonWebKey::key_id(k).map(|id| id.as_str()) == Some(kid)),
            None => true,
        };
        {
            let guard = provider.jwks.read().await;
            if known(&guard.0) || now - guard.1 < 10 {
                return Ok(guard.0.keys().clone());
            }
        }
        let fresh = CoreJsonWebKeySet::fetch_async(&provider.jwks_uri, &self.http)
            .await
            .map_err(|e| RpError::Unavailable(format!("JWKS: {e}")))?;
        let keys = fresh.keys().clone();
        *provider.jwks.write().await = (fresh, now);
        Ok(keys)
    }
}

fn expires_in(d: Option<std::time::Duration>) -> i64 {
    d.map(|d| d.as_secs().min(86_400) as i64).unwrap_or(300)
}

/// A string claim of a JWT whose signature has already been verified.
fn payload_string(jwt: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}
