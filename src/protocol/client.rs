//! What identifies a relying party and where its answers go: `client_id`
//! (RFC 6749 §2.2) and redirect URIs (RFC 6749 §3.1.2), each built only by
//! the rule that makes it valid.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

/// A client's id as `clients.toml` declares it: 1–128 letters, digits,
/// `-`, `_` or `.` — so it can be printed in a log line or a page as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// `None` unless `id` follows the rule above.
    pub fn parse(id: &str) -> Option<ClientId> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        ok.then(|| ClientId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Read as the text it is (the newtypes of openidconnect-rs do the same).
impl Deref for ClientId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Lets the clients be looked up by the `client_id` a request sends.
impl Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ClientId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClientId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Read back from a stored pending request, through the same rule.
impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ClientId, D::Error> {
        let id = String::deserialize(deserializer)?;
        ClientId::parse(&id).ok_or_else(|| serde::de::Error::custom("not a client id"))
    }
}

/// A redirect URI a client registered: absolute, without fragment
/// (RFC 6749 §3.1.2), and one a browser may safely be sent to with a code
/// (RFC 8252 §7, RFC 9700 §4.1): `https`, `http` to this machine's loopback
/// only, or an app's private-use scheme in reverse-domain form
/// (`org.ville.app:/cb`) — never `javascript:`, `data:`, `file:` nor plain
/// `http` across the network. A request's `redirect_uri` never becomes one
/// by itself: it is matched, exactly, against the client's registered ones
/// (RFC 9700 §4.1.3), and the registered one is what travels on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// The URI `uri`, or what is wrong with it (a phrase that follows the
    /// URI in a message: "`…` is not an absolute URI").
    pub fn parse(uri: &str) -> Result<RedirectUri, &'static str> {
        let url = url::Url::parse(uri).map_err(|_| "is not an absolute URI")?;
        if url.fragment().is_some() {
            return Err("must not contain a fragment (#)");
        }
        if url.cannot_be_a_base() && !uri.contains(':') {
            return Err("is not an absolute URI");
        }
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "https" => return Err("has no host"),
            "http" => match url.host() {
                Some(url::Host::Ipv4(ip)) if ip.is_loopback() => {}
                Some(url::Host::Ipv6(ip)) if ip.is_loopback() => {}
                Some(url::Host::Domain("localhost")) => {}
                _ => {
                    return Err(
                        "uses plain http to another host than loopback (127.0.0.1, [::1], localhost): use https",
                    );
                }
            },
            scheme if scheme.contains('.') => {}
            _ => {
                return Err(
                    "must be https, http to loopback, or a private-use scheme such as org.example.app:/callback (RFC 8252)",
                );
            }
        }
        // The text as registered, not `url`'s normalised form: requests
        // must send exactly this string.
        Ok(RedirectUri(uri.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl Deref for RedirectUri {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RedirectUri {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Read back from a stored pending request, through the same rule.
impl<'de> Deserialize<'de> for RedirectUri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RedirectUri, D::Error> {
        let uri = String::deserialize(deserializer)?;
        RedirectUri::parse(&uri).map_err(serde::de::Error::custom)
    }
}
