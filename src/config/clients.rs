//! `clients.toml`: the relying parties, read at every start and on SIGHUP.
//! There is no copy in the database to drift from it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{ConfigError, toml_error};
use crate::protocol::{ClientId, RedirectUri, Scope, Scopes};
use crate::secrets;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    client: Vec<RawClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    id: String,
    name: Option<String>,
    secret: Option<String>,
    auth_method: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    scopes: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    consent: Option<String>,
    privacy_policy_url: Option<String>,
    id_token_alg: Option<String>,
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    require_2fa: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    /// Every grant type Sésame serves (discovery lists them).
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The grant type named `name` (RFC 6749's `grant_type` values).
    pub fn parse(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentMode {
    Required,
    Implicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlg {
    Rs256,
    Es256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
        }
    }
}

/// A checked relying party.
#[derive(Clone, PartialEq)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// SHA-256 of the secret; `None` for a public client.
    pub secret_digest: Option<[u8; 32]>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub scopes: Scopes,
    pub grant_types: Vec<GrantType>,
    pub consent: ConsentMode,
    pub privacy_policy_url: Option<String>,
    pub id_token_alg: SigningAlg,
    pub backchannel_logout_uri: Option<String>,
    /// Every citizen signs in to this client with a second factor (and is
    /// guided through enrolling one if they have none).
    pub require_2fa: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("auth_method", &self.auth_method)
            .field("secret_digest", &self.secret_digest.map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// The registered redirect URI that is exactly `uri` (RFC 9700 §4.1.3:
    /// string comparison, no normalisation), if there is one.
    pub fn redirect_uri(&self, uri: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.as_str() == uri)
    }
}

/// The relying parties, by id.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    /// Shared, so a request holds its client without copying it.
    by_id: HashMap<ClientId, Arc<Client>>,
    order: Vec<ClientId>,
}

/// Secret of the built-in demo client, used only when Sésame runs without a
/// configuration file (and by `examples/citizen_portal`).
pub const DEMO_CLIENT_SECRET: &str = "demo-secret-portail-citoyen-change-me";

impl Clients {
    pub fn get(&self, id: &str) -> Option<&Client> {
        self.by_id.get(id).map(Arc::as_ref)
    }

    /// The client `id`, shared.
    pub fn shared(&self, id: &str) -> Option<Arc<Client>> {
        self.by_id.get(id).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id).map(Arc::as_ref))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn load(path: &Path) -> Result<Clients, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, "(file)", format!("cannot read: {e}")))?;
        Clients::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Clients, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let mut clients = Clients::default();
        for (index, raw) in raw.client.into_iter().enumerate() {
            let client = check(raw, index, path)?;
            if clients.by_id.contains_key(&client.id) {
                return Err(ConfigError::new(
                    path,
                    format!("client \"{}\".id", client.id),
                    format!("`{}` is declared twice", client.id),
                ));
            }
            clients.order.push(client.id.clone());
            clients.by_id.insert(client.id.clone(), Arc::new(client));
        }
        Ok(clients)
    }

    /// The demo relying party `portail-citoyen` (DESIGN §4).
    pub fn demo() -> Clients {
        Clients::parse(
            &demo_toml(&secrets::sha256_prefixed(DEMO_CLIENT_SECRET)),
            Path::new("(built-in clients)"),
        )
        .unwrap_or_else(|e| unreachable!("the demo client is valid: {e}"))
    }
}

/// The `clients.toml` for the demo portal, with the given `sha256:` digest.
pub fn demo_toml(secret_digest: &str) -> String {
    format!(
        r#"# Relying parties — see docs/clients.md.
[[client]]
id = "portail-citoyen"
name = "Espace Citoyens"
secret = "{secret_digest}"
auth_method = "client_secret_basic"  # client_secret_post | none
redirect_uris = ["http://127.0.0.1:8081/callback"]
post_logout_redirect_uris = ["http://127.0.0.1:8081/"]
scopes = ["openid", "email", "profile", "address", "phone", "roles", "offline_access"]
grant_types = ["authorization_code", "refresh_token"]
consent = "required"                 # or "implicit" for the city's own services
privacy_policy_url = "http://127.0.0.1:8081/confidentialite"
id_token_alg = "RS256"               # or ES256
backchannel_logout_uri = "http://127.0.0.1:8081/backchannel-logout"
"#
    )
}

fn check(raw: RawClient, index: usize, path: &Path) -> Result<Client, ConfigError> {
    let id = ClientId::parse(&raw.id);
    // Errors name the client by its id, or by its rank (from 1) when the id
    // itself is what is wrong.
    let name = match &id {
        Some(id) => format!("client \"{id}\""),
        None => format!("client #{}", index + 1),
    };
    let err = |key: &str, problem: String| ConfigError::new(path, format!("{name}.{key}"), problem);
    let Some(id) = id else {
        return Err(err(
            "id",
            format!(
                "`{}` must be 1–128 letters, digits, `-`, `_` or `.`",
                raw.id
            ),
        ));
    };
    let auth_method = match raw.auth_method.as_deref() {
        None if raw.secret.is_none() => AuthMethod::None,
        None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
        Some("client_secret_post") => AuthMethod::ClientSecretPost,
        Some("none") => AuthMethod::None,
        Some(other) => {
            return Err(err(
                "auth_method",
                format!("`{other}` is not client_secret_basic, client_secret_post or none"),
            ));
        }
    };
    let secret_digest = match (&raw.secret, auth_method) {
        (Some(_), AuthMethod::None) => {
            return Err(err(
                "secret",
                "a public client (auth_method = \"none\") has no secret".into(),
            ));
        }
        (None, AuthMethod::None) => None,
        (None, _) => {
            return Err(err(
                "secret",
                "required unless auth_method = \"none\"; make one with `sesame clients new-secret`"
                    .into(),
            ));
        }
        (Some(s), _) => Some(secrets::parse_sha256_prefixed(s).ok_or_else(|| {
            err(
                "secret",
                "must be `sha256:` followed by 64 hex digits (`sesame clients new-secret`)".into(),
            )
        })?),
    };
    let grant_types = raw
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()])
        .iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                err(
                    "grant_types",
                    format!("`{g}` is not authorization_code, refresh_token or client_credentials"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if auth_method == AuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(err(
            "grant_types",
            "a public client cannot use client_credentials".into(),
        ));
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && raw.redirect_uris.is_empty() {
        return Err(err(
            "redirect_uris",
            "at least one is needed for authorization_code".into(),
        ));
    }
    if raw.require_2fa && !grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(err(
            "require_2fa",
            "only citizens sign in with a second factor: it needs authorization_code".into(),
        ));
    }
    let uris = |key: &str, list: &[String]| {
        list.iter()
            .map(|uri| RedirectUri::parse(uri).map_err(|p| err(key, format!("`{uri}` {p}"))))
            .collect::<Result<Vec<_>, _>>()
    };
    let redirect_uris = uris("redirect_uris", &raw.redirect_uris)?;
    let post_logout_redirect_uris =
        uris("post_logout_redirect_uris", &raw.post_logout_redirect_uris)?;
    if let Some(uri) = &raw.backchannel_logout_uri {
        web_url(uri).map_err(|p| err("backchannel_logout_uri", format!("`{uri}` {p}")))?;
    }
    if let Some(uri) = &raw.privacy_policy_url {
        web_url(uri).map_err(|p| err("privacy_policy_url", format!("`{uri}` {p}")))?;
    }
    let scopes = match &raw.scopes {
        None => Scopes::EMPTY.with(Scope::Openid),
        Some(names) => Scopes::from_names(names).map_err(|unknown| {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            err(
                "scopes",
                format!("`{}` is not one of {}", unknown.0, known.join(", ")),
            )
        })?,
    };
    let consent = match raw.consent.as_deref().unwrap_or("required") {
        "required" => ConsentMode::Required,
        "implicit" => ConsentMode::Implicit,
        other => {
            return Err(err(
                "consent",
                format!("`{other}` is neither \"required\" nor \"implicit\""),
            ));
        }
    };
    let id_token_alg = match raw.id_token_alg.as_deref().unwrap_or("RS256") {
        "RS256" => SigningAlg::Rs256,
        "ES256" => SigningAlg::Es256,
        other => {
            return Err(err(
                "id_token_alg",
                format!("`{other}` is neither RS256 nor ES256"),
            ));
        }
    };
    let name = raw.name.unwrap_or_else(|| raw.id.clone());
    Ok(Client {
        id,
        name,
        secret_digest,
        auth_method,
        redirect_uris,
        post_logout_redirect_uris,
        scopes,
        grant_types,
        consent,
        privacy_policy_url: raw.privacy_policy_url,
        id_token_alg,
        backchannel_logout_uri: raw.backchannel_logout_uri,
        require_2fa: raw.require_2fa,
    })
}

fn web_url(uri: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "is not an absolute URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn parse(text: &str) -> Result<Clients, ConfigError> {
        Clients::parse(text, Path::new("clients.toml"))
    }

    fn confidential(extra: &str) -> String {
        format!(
            "[[client]]\nid = \"c\"\nsecret = \"{HASH}\"\nredirect_uris = [\"https://rp.example/cb\"]\n{extra}\n"
        )
    }

    #[test]
    fn loopback_http_and_private_use_schemes_are_accepted() {
        for uri in [
            "http://127.0.0.1:8081/callback",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "org.ville.app:/callback",
            "https://rp.example/cb?x=1",
        ] {
            let text = confidential("").replace("https://rp.example/cb", uri);
            assert!(parse(&text).is_ok(), "{uri}");
        }
    }

    #[test]
    fn demo_client_is_confidential_with_refresh() {
        let demo = Clients::demo();
        let c = demo.get("portail-citoyen").unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert!(c.allows(GrantType::RefreshToken));
    }

    #[test]
    fn each_mistake_names_its_key() {
        for (text, key, words) in [
            (confidential("bogus = 1"), "client.bogus (line 5)", "bogus"),
            ("[[client]]\nid = \"c\"\nsecret = \"plain\"\nredirect_uris = [\"https://a/cb\"]".to_owned(), "client \"c\".secret", "sha256"),
            (confidential("").replace("https://rp.example/cb", "/cb"), "client \"c\".redirect_uris", "absolute"),
            (confidential("").replace("https://rp.example/cb", "https://rp.example/cb#x"), "client \"c\".redirect_uris", "fragment"),
            (confidential("").replace("https://rp.example/cb", "javascript:alert(1)"), "client \"c\".redirect_uris", "private-use"),
            (confidential("").replace("https://rp.example/cb", "data:text/html,x"), "client \"c\".redirect_uris", "private-use"),
            (confidential("").replace("https://rp.example/cb", "file:///etc/passwd"), "client \"c\".redirect_uris", "private-use"),
            (confidential("").replace("https://rp.example/cb", "http://rp.example/cb"), "client \"c\".redirect_uris", "loopback"),
            (confidential("post_logout_redirect_uris = [\"http://10.0.0.1/bye\"]"), "client \"c\".post_logout_redirect_uris", "loopback"),
            (
                "[[client]]\nid = \"p\"\nauth_method = \"none\"\nredirect_uris = [\"https://a/cb\"]\ngrant_types = [\"client_credentials\"]".into(),
                "client \"p\".grant_types",
                "public",
            ),
            (format!("{}{}", confidential(""), confidential("")), "client \"c\".id", "twice"),
            (format!("{}[[client]]\nid = \"bad id\"\n", confidential("")), "client #2.id", "bad id"),
            (confidential("scopes = [\"openid\", \"everything\"]"), "client \"c\".scopes", "everything"),
            (confidential("auth_method = \"none\""), "client \"c\".secret", "public"),
            ("[[client]]\nid = \"c\"\nredirect_uris = [\"https://a/cb\"]\nauth_method = \"client_secret_post\"".into(), "client \"c\".secret", "required"),
            (confidential("require_2fa = \"yes\""), "client.require_2fa (line 5)", "boolean"),
            (confidential("require_2fa = true\ngrant_types = [\"client_credentials\"]"), "client \"c\".require_2fa", "authorization_code"),
        ] {
            let err = parse(&text).unwrap_err();
            assert_eq!(err.key, key, "{text}\n→ {err}");
            assert!(err.to_string().contains(words), "{err}");
            assert!(err.to_string().starts_with("clients.toml"), "{err}");
        }
    }
}
