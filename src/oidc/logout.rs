//! Logout rules, without HTTP: OpenID Connect RP-Initiated Logout 1.0
//! (§2 request, §3 redirection after logout, §4 errors) and Back-Channel
//! Logout 1.0 (§2.4 logout token, §2.5 delivery).
//!
//! - A logout request is checked before anything happens: an unknown
//!   `client_id`, a `client_id` that is not the hint's audience, or a
//!   `post_logout_redirect_uri` not registered (exact match) for the client
//!   is an error page; nothing is ended and nobody is redirected.
//! - An `id_token_hint` that does not verify is ignored (ID tokens outlive
//!   the keys that signed them): the citizen confirms, and a
//!   `post_logout_redirect_uri` that cannot be tied to a client is dropped.
//! - The citizen confirms on a page unless a valid hint names the signed-in
//!   citizen (and, when it carries one, this very session's `sid`).
//! - Ending a session revokes the access tokens obtained in it and the
//!   grants without a refresh family; refresh tokens of `offline_access`
//!   grants stay valid. Every client that obtained tokens in the session and
//!   has a `backchannel_logout_uri` gets a logout token through the queue.

use crate::store::Tx;
use serde_json::{Value, json};

use super::params::Params;
use super::tokens::IdTokenHint;
use crate::config::{Clients, SigningAlg};
use crate::keys::{KeyError, KeyRing};
use crate::protocol::ClientId;
use crate::secrets;
use crate::store::sessions::{self, Session};
use crate::store::{backchannel, grants};

/// Where the browser goes after logout: a registered URI, with `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterLogout {
    pub uri: String,
    pub state: Option<String>,
}

impl AfterLogout {
    /// The URI with `state` appended to its query (RP-Initiated §3).
    pub fn location(&self) -> Option<String> {
        let mut url = url::Url::parse(&self.uri).ok()?;
        if let Some(state) = &self.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.into())
    }
}

/// A checked logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutPlan {
    /// The client the request comes from, when it could be identified.
    pub client_id: Option<ClientId>,
    pub after: Option<AfterLogout>,
    /// The citizen must confirm on a page first.
    pub confirm: bool,
    pub ui_locales: Option<String>,
}

/// Checks a logout request. `hint` verifies an `id_token_hint`; `session`
/// is this browser's live session. `Err` says why, for an error page.
pub fn plan(
    params: &Params,
    hint: &dyn Fn(&str) -> Option<IdTokenHint>,
    clients: &Clients,
    session: Option<&Session>,
) -> Result<LogoutPlan, String> {
    if let Some(name) = params.repeated() {
        return Err(format!("the {name} parameter is repeated"));
    }
    let get = |name: &str| params.get(name).map_err(|e| e.description.into_owned());
    let hint = get("id_token_hint")?.and_then(hint);
    let client = match get("client_id")? {
        Some(id) => {
            let client = clients.get(id).ok_or("unknown client_id")?;
            if hint.as_ref().is_some_and(|h| h.client_id != *client.id) {
                return Err("client_id is not the audience of id_token_hint".into());
            }
            Some(client)
        }
        None => hint.as_ref().and_then(|h| clients.get(&h.client_id)),
    };
    let after = match (get("post_logout_redirect_uri")?, client) {
        (None, _) | (Some(_), None) => None,
        (Some(uri), Some(client)) => {
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err("post_logout_redirect_uri is not registered for this client".into());
            }
            Some(AfterLogout {
                uri: uri.to_owned(),
                state: get("state")?.map(str::to_owned),
            })
        }
    };
    let confirm = match session {
        None => false,
        Some(s) => !hint
            .as_ref()
            .is_some_and(|h| h.sub == s.sub && h.sid.as_ref().is_none_or(|sid| *sid == s.sid)),
    };
    Ok(LogoutPlan {
        client_id: client.map(|c| c.id.clone()),
        after,
        confirm,
        ui_locales: get("ui_locales")?.map(|l| l.chars().take(64).collect()),
    })
}

/// A session ended by logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub sid: String,
    pub sub: String,
    /// Clients a back-channel logout token was queued for.
    pub notified: Vec<String>,
}

/// Ends the session of a cookie digest (see the module header), in one
/// transaction. `has_backchannel` says whether a client wants logout tokens.
pub fn end_session(
    tx: &Tx<'_>,
    cookie_digest: &str,
    has_backchannel: &dyn Fn(&str) -> bool,
    now: i64,
) -> crate::store::Result<Option<Ended>> {
    let tx = tx.savepoint()?;
    let Some((sid, sub)) = sessions::take(&tx, cookie_digest)? else {
        return Ok(None);
    };
    let notified = after_session_ended(&tx, &sid, &sub, has_backchannel, now)?;
    tx.commit()?;
    Ok(Some(Ended { sid, sub, notified }))
}

/// What follows the end of session `sid` of `sub`, however it ended
/// (logout here; password change or account deletion may call it too).
pub fn after_session_ended(
    tx: &Tx<'_>,
    sid: &str,
    sub: &str,
    has_backchannel: &dyn Fn(&str) -> bool,
    now: i64,
) -> crate::store::Result<Vec<String>> {
    let mut notified = grants::end_session(tx, sid, now)?;
    notified.retain(|client_id| has_backchannel(client_id));
    for client_id in &notified {
        backchannel::enqueue(tx, client_id, sub, sid, &secrets::random_b64(16), now)?;
    }
    Ok(notified)
}

/// Back-Channel Logout 1.0 §2.4: the `events` member.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid (§2.6 recommends a short lifetime).
const LOGOUT_TOKEN_TTL: i64 = 120;

/// The contents of a logout token.
#[derive(Debug, Clone, Copy)]
pub struct LogoutTokenSpec<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
    pub sid: &'a str,
    pub jti: &'a str,
    pub iat: i64,
}

/// The claims of a logout token (§2.4): `iss`, `aud`, `iat`, `exp`, `jti`,
/// `sub` and `sid`, `events`; never a `nonce`.
fn logout_token_claims(issuer: &str, t: &LogoutTokenSpec<'_>) -> Value {
    json!({
        "iss": issuer,
        "aud": t.client_id,
        "iat": t.iat,
        "exp": t.iat + LOGOUT_TOKEN_TTL,
        "jti": t.jti,
        "sub": t.sub,
        "sid": t.sid,
        "events": { BACKCHANNEL_EVENT: {} },
    })
}

/// Signs a logout token with the client's ID-token algorithm and the
/// `typ` `logout+jwt` (§2.4, explicit typing).
pub fn sign_logout_token(
    keys: &KeyRing,
    alg: SigningAlg,
    issuer: &str,
    t: &LogoutTokenSpec<'_>,
) -> Result<String, KeyError> {
    let claims = logout_token_claims(issuer, t);
    keys.sign(alg, "logout+jwt", claims.to_string().as_bytes())
}

/// Seconds to wait after each failed attempt; the delivery is given up
/// after the last one (about 5 hours after logout).
const RETRY_DELAYS: &[i64] = &[2, 10, 60, 300, 900, 3600, 3600, 3600, 3600];

/// When to try again after `attempts` failed attempts at `now`; `None`
/// once every retry was spent.
pub fn retry_at(attempts: u32, now: i64) -> Option<i64> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    RETRY_DELAYS.get(index).map(|delay| now + delay)
}

/// What the client's answer means (§2.8): 2xx is done; a 4xx other than
/// 408 and 429 is a refusal no retry will change; anything else is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Refused,
    Retry,
}

pub fn outcome(status: Option<u16>) -> DeliveryOutcome {
    match status {
        Some(200..=299) => DeliveryOutcome::Delivered,
        Some(408 | 429) | None => DeliveryOutcome::Retry,
        Some(400..=499) => DeliveryOutcome::Refused,
        Some(_) => DeliveryOutcome::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn clients() -> Clients {
        Clients::parse(
            r#"
[[client]]
id = "a"
secret = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
redirect_uris = ["https://a.example/cb"]
post_logout_redirect_uris = ["https://a.example/bye?x=1"]
[[client]]
id = "b"
auth_method = "none"
redirect_uris = ["https://b.example/cb"]
"#,
            Path::new("clients.toml"),
        )
        .unwrap()
    }

    fn session() -> Session {
        Session {
            sid: "sid1".into(),
            sub: "alice".into(),
            auth_time: 0,
            amr: vec![],
            acr: None,
            idle_expires_at: i64::MAX,
            expires_at: i64::MAX,
        }
    }

    /// Any hint of the form `sub:client:sid` verifies; others do not.
    fn hint(token: &str) -> Option<IdTokenHint> {
        let mut parts = token.split(':');
        Some(IdTokenHint {
            sub: parts.next()?.into(),
            client_id: parts.next()?.into(),
            sid: parts.next().map(str::to_owned),
        })
    }

    fn run(query: &str, s: Option<&Session>) -> Result<LogoutPlan, String> {
        plan(&Params::parse(query.as_bytes()), &hint, &clients(), s)
    }

    #[test]
    fn a_hint_for_this_session_logs_out_without_a_page() {
        let s = session();
        let p = run(
            "id_token_hint=alice:a:sid1&post_logout_redirect_uri=https%3A%2F%2Fa.example%2Fbye%3Fx%3D1&state=st",
            Some(&s),
        )
        .unwrap();
        assert!(!p.confirm);
        assert_eq!(p.client_id.as_deref(), Some("a"));
        assert_eq!(
            p.after.unwrap().location().unwrap(),
            "https://a.example/bye?x=1&state=st"
        );
        assert!(!run("id_token_hint=alice:a", Some(&s)).unwrap().confirm);
    }

    #[test]
    fn anything_less_asks_the_citizen() {
        let s = session();
        for query in [
            "",
            "client_id=a",
            "id_token_hint=bob:a:sid1",
            "id_token_hint=alice:a:other-session",
            "id_token_hint=garbage",
        ] {
            assert!(run(query, Some(&s)).unwrap().confirm, "{query}");
        }
        assert!(
            !run("", None).unwrap().confirm,
            "no session: nothing to ask"
        );
    }

    #[test]
    fn redirects_only_to_registered_uris_of_an_identified_client() {
        let uri = "post_logout_redirect_uri=https%3A%2F%2Fa.example%2Fbye%3Fx%3D1";
        assert!(
            run(&format!("client_id=a&{uri}"), None)
                .unwrap()
                .after
                .is_some()
        );
        assert!(
            run(&format!("id_token_hint=garbage&{uri}"), None)
                .unwrap()
                .after
                .is_none(),
            "no client identified: no redirection"
        );
        for bad in [
            format!("client_id=b&{uri}"),
            "client_id=a&post_logout_redirect_uri=https%3A%2F%2Fa.example%2Fbye".to_owned(),
            "client_id=a&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F".to_owned(),
            format!("client_id=ghost&{uri}"),
            format!("client_id=b&id_token_hint=alice:a&{uri}"),
            "client_id=a&client_id=b".to_owned(),
        ] {
            assert!(run(&bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn logout_token_claims_follow_the_spec() {
        let c = logout_token_claims(
            "https://id",
            &LogoutTokenSpec {
                client_id: "a",
                sub: "alice",
                sid: "sid1",
                jti: "j",
                iat: 1000,
            },
        );
        assert_eq!(c["aud"], "a");
        assert_eq!(c["iat"], 1000);
        assert_eq!(c["exp"], 1000 + LOGOUT_TOKEN_TTL);
        assert_eq!(c["events"][BACKCHANNEL_EVENT], json!({}));
        assert!(c.get("nonce").is_none());
        for claim in ["iss", "jti", "sub", "sid"] {
            assert!(c[claim].is_string(), "{claim}");
        }
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_at(1, 100), Some(102));
        assert_eq!(retry_at(2, 100), Some(110));
        assert_eq!(retry_at(RETRY_DELAYS.len() as u32, 0), Some(3600));
        assert_eq!(retry_at(RETRY_DELAYS.len() as u32 + 1, 0), None);
        assert_eq!(retry_at(0, 0), None);
        assert_eq!(outcome(Some(200)), DeliveryOutcome::Delivered);
        assert_eq!(outcome(Some(204)), DeliveryOutcome::Delivered);
        assert_eq!(outcome(Some(500)), DeliveryOutcome::Retry);
        assert_eq!(outcome(Some(429)), DeliveryOutcome::Retry);
        assert_eq!(outcome(None), DeliveryOutcome::Retry);
        assert_eq!(outcome(Some(400)), DeliveryOutcome::Refused);
        assert_eq!(outcome(Some(302)), DeliveryOutcome::Retry);
    }
}
