//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3, OIDC Core §9): each client uses exactly the
//! method `clients.toml` gives it; secrets compare in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::params::Params;
use super::{ErrorCode, OAuthError};
use crate::config::{AuthMethod, Client, Clients};
use crate::secrets;

fn invalid_client() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
}

/// The client the request authenticates as.
pub fn authenticate<'c>(
    clients: &'c Clients,
    authorization: Option<&str>,
    params: &Params,
) -> Result<&'c Client, OAuthError> {
    let body_id = params.get("client_id")?;
    let body_secret = params.get("client_secret")?;
    let (id, secret, method) = match authorization {
        Some(header) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            let (id, secret) = basic_credentials(header).ok_or_else(invalid_client)?;
            if body_id.is_some_and(|b| b != id) {
                return Err(invalid_client());
            }
            (id, Some(secret), AuthMethod::ClientSecretBasic)
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => (
                id.to_owned(),
                Some(secret.to_owned()),
                AuthMethod::ClientSecretPost,
            ),
            (Some(id), None) => (id.to_owned(), None, AuthMethod::None),
            _ => return Err(invalid_client()),
        },
    };
    let client = clients.get(&id).ok_or_else(invalid_client)?;
    if client.auth_method != method {
        return Err(invalid_client());
    }
    match (&client.secret_digest, secret) {
        (None, None) => Ok(client),
        (Some(expected), Some(secret)) if secrets::secret_matches(&secret, expected) => Ok(client),
        _ => Err(invalid_client()),
    }
}

/// The client a request says it is (Basic user, else `client_id`), before
/// any check: for the log line of a refused request.
pub fn claimed_id(authorization: Option<&str>, params: &Params) -> Option<String> {
    authorization
        .and_then(basic_credentials)
        .map(|(id, _)| id)
        .or_else(|| params.first("client_id").map(str::to_owned))
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn clients() -> Clients {
        let digest = secrets::sha256_prefixed("s3cret:+/");
        Clients::parse(
            &format!(
                r#"
[[client]]
id = "basic"
secret = "{digest}"
redirect_uris = ["https://a/cb"]
[[client]]
id = "post"
secret = "{digest}"
auth_method = "client_secret_post"
redirect_uris = ["https://a/cb"]
[[client]]
id = "public"
auth_method = "none"
redirect_uris = ["https://a/cb"]
"#
            ),
            Path::new("clients.toml"),
        )
        .unwrap()
    }

    fn basic(id: &str, secret: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        )
    }

    #[test]
    fn each_client_uses_its_own_method() {
        let c = clients();
        let none = Params::default();
        assert_eq!(
            authenticate(&c, Some(&basic("basic", "s3cret:+/")), &none)
                .unwrap()
                .id,
            "basic"
        );
        assert!(authenticate(&c, Some(&basic("basic", "wrong")), &none).is_err());
        assert!(
            authenticate(&c, Some(&basic("post", "s3cret:+/")), &none).is_err(),
            "post client using basic"
        );
        let post = Params::parse(b"client_id=post&client_secret=s3cret%3A%2B%2F");
        assert_eq!(authenticate(&c, None, &post).unwrap().id, "post");
        let basic_in_body = Params::parse(b"client_id=basic&client_secret=s3cret%3A%2B%2F");
        assert!(authenticate(&c, None, &basic_in_body).is_err());
        assert_eq!(
            authenticate(&c, None, &Params::parse(b"client_id=public"))
                .unwrap()
                .id,
            "public"
        );
        assert!(authenticate(&c, None, &Params::parse(b"client_id=basic")).is_err());
        assert!(authenticate(&c, None, &Params::parse(b"client_id=ghost")).is_err());
        assert!(authenticate(&c, None, &none).is_err());
        assert!(authenticate(&c, Some("Basic !!!"), &none).is_err());
        assert!(authenticate(&c, Some("Bearer x"), &none).is_err());
    }
}
