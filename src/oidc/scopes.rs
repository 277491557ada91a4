//! Scopes and the claims they release (OIDC Core §5.4, with FranceConnect's
//! conventions for French identity, DESIGN §3), and the `claims` request
//! parameter (OIDC Core §5.5).

use serde_json::{Map, Value, json};

use crate::protocol::{Scope, Scopes};
use crate::store::users::User;

/// The claims each scope releases.
fn claims_of(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::Openid => &["sub"],
        Scope::Email => &["email", "email_verified"],
        Scope::Profile => &[
            "family_name",
            "given_name",
            "preferred_username",
            "gender",
            "birthdate",
            "birthplace",
            "birthcountry",
            "locale",
            "updated_at",
        ],
        Scope::Address => &["address"],
        Scope::Phone => &["phone_number", "phone_number_verified"],
        Scope::Roles => &["roles"],
        Scope::OfflineAccess => &[],
    }
}

/// The scope that releases `claim`, if any.
fn scope_of(claim: &str) -> Option<Scope> {
    Scope::ALL
        .into_iter()
        .find(|scope| claims_of(*scope).contains(&claim))
}

/// Every scope Sésame knows (for discovery).
pub fn supported_scopes() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}

/// Every claim Sésame can release (for discovery).
pub fn supported_claims() -> Vec<&'static str> {
    let mut all: Vec<&str> = Scope::ALL
        .into_iter()
        .flat_map(|s| claims_of(s).iter().copied())
        .collect();
    all.extend([
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "at_hash",
        "sid",
    ]);
    all
}

/// A parsed `claims` request: the claim names asked for in each place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimsRequest {
    pub userinfo: Vec<String>,
    pub id_token: Vec<String>,
}

impl ClaimsRequest {
    /// Parses the JSON of the `claims` parameter; `Err` names the problem.
    pub fn parse(json: &str) -> Result<ClaimsRequest, &'static str> {
        let value: Value = serde_json::from_str(json).map_err(|_| "claims is not valid JSON")?;
        let object = value.as_object().ok_or("claims must be a JSON object")?;
        let names = |member: &str| -> Result<Vec<String>, &'static str> {
            match object.get(member) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Object(claims)) => {
                    if claims.values().any(|v| !(v.is_null() || v.is_object())) {
                        return Err("each requested claim must be null or an object");
                    }
                    Ok(claims.keys().cloned().collect())
                }
                Some(_) => Err("claims.userinfo and claims.id_token must be objects"),
            }
        };
        Ok(ClaimsRequest {
            userinfo: names("userinfo")?,
            id_token: names("id_token")?,
        })
    }

    /// Parses a stored request (already validated once).
    pub fn from_stored(json: Option<&str>) -> ClaimsRequest {
        json.and_then(|j| ClaimsRequest::parse(j).ok())
            .unwrap_or_default()
    }

    /// Scopes whose claims are asked for individually.
    pub fn scopes(&self) -> Scopes {
        self.userinfo
            .iter()
            .chain(&self.id_token)
            .filter_map(|c| scope_of(c))
            .collect()
    }
}

/// The scopes the citizen is asked to consent to: those requested, plus
/// those whose claims the `claims` parameter names (if the client may have
/// them).
pub fn consent_scopes(requested: Scopes, claims: &ClaimsRequest, allowed: Scopes) -> Scopes {
    requested.union(claims.scopes().intersection(allowed))
}

/// The claims of `user` released by `scopes`, plus the individually
/// requested `extra` claims whose scope is in `allowed`.
pub fn user_claims(
    user: &User,
    scopes: Scopes,
    extra: &[String],
    allowed: Scopes,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.sub.clone()));
    let names = scopes
        .iter()
        .flat_map(|s| claims_of(s).iter().copied())
        .chain(
            extra
                .iter()
                .map(String::as_str)
                .filter(|c| scope_of(c).is_some_and(|s| allowed.contains(s))),
        );
    for name in names {
        if let Some(value) = claim_value(user, name) {
            out.insert(name.to_owned(), value);
        }
    }
    out
}

fn claim_value(user: &User, name: &str) -> Option<Value> {
    let text = |v: &Option<String>| {
        v.as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.clone()))
    };
    match name {
        "sub" => Some(json!(user.sub)),
        "email" => Some(json!(user.email)),
        "email_verified" => Some(json!(user.email_verified)),
        "family_name" => text(&user.family_name),
        "given_name" => text(&user.given_name),
        "preferred_username" => text(&user.preferred_username),
        "gender" => text(&user.gender),
        "birthdate" => text(&user.birthdate),
        "birthplace" => text(&user.birthplace),
        "birthcountry" => text(&user.birthcountry),
        "locale" => text(&user.locale),
        "updated_at" => Some(json!(user.updated_at)),
        "phone_number" => text(&user.phone_number),
        "phone_number_verified" => user.phone_number.as_ref().map(|_| json!(false)),
        "roles" => Some(json!(user.roles)),
        "address" => address(user),
        _ => None,
    }
}

fn address(user: &User) -> Option<Value> {
    let mut address = Map::new();
    let parts = [
        ("street_address", &user.street_address),
        ("postal_code", &user.postal_code),
        ("locality", &user.locality),
        ("country", &user.country),
    ];
    for (key, value) in parts {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            address.insert(key.into(), json!(v));
        }
    }
    if address.is_empty() {
        return None;
    }
    let locality_line = [&user.postal_code, &user.locality]
        .iter()
        .filter_map(|v| v.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    let formatted: Vec<&str> = [
        user.street_address.as_deref(),
        Some(locality_line.as_str()),
        user.country.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|l| !l.is_empty())
    .collect();
    address.insert("formatted".into(), json!(formatted.join("\n")));
    Some(Value::Object(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nathalie() -> User {
        User {
            sub: "abc".into(),
            email: "n@example.test".into(),
            email_verified: true,
            given_name: Some("Nathalie".into()),
            family_name: Some("Test".into()),
            phone_number: Some("+33145252623".into()),
            locality: Some("Champigny-sur-Marne".into()),
            roles: vec!["citizen".into()],
            ..User::default()
        }
    }

    #[test]
    fn only_claims_of_granted_scopes_are_released() {
        let openid_email = Scopes::parse("openid email").unwrap();
        let claims = user_claims(&nathalie(), openid_email, &[], openid_email);
        assert_eq!(claims["email"], "n@example.test");
        assert_eq!(claims["email_verified"], true);
        assert!(claims.get("given_name").is_none());
        assert!(claims.get("phone_number").is_none());
        assert!(claims.get("roles").is_none());
    }

    #[test]
    fn individually_requested_claims_need_an_allowed_scope() {
        let extra = vec!["given_name".to_owned(), "phone_number".to_owned()];
        let claims = user_claims(
            &nathalie(),
            Scopes::parse("openid").unwrap(),
            &extra,
            Scopes::parse("openid profile").unwrap(),
        );
        assert_eq!(claims["given_name"], "Nathalie");
        assert!(claims.get("phone_number").is_none());
    }

    #[test]
    fn claims_request_parsing() {
        let req = ClaimsRequest::parse(
            r#"{"userinfo":{"email":{"essential":true}},"id_token":{"given_name":null}}"#,
        )
        .unwrap();
        assert_eq!(req.userinfo, ["email"]);
        assert_eq!(req.id_token, ["given_name"]);
        assert!(ClaimsRequest::parse("[1]").is_err());
        assert!(ClaimsRequest::parse(r#"{"userinfo":{"email":3}}"#).is_err());
        assert!(ClaimsRequest::parse("{not json").is_err());
        let allowed = Scopes::parse("openid profile").unwrap();
        let requested = Scopes::parse("openid").unwrap();
        assert_eq!(
            consent_scopes(requested, &req, allowed).to_string(),
            "openid profile"
        );
    }

    #[test]
    fn address_is_structured() {
        let address = Scopes::parse("address").unwrap();
        let claims = user_claims(&nathalie(), address, &[], Scopes::EMPTY);
        assert_eq!(claims["address"]["locality"], "Champigny-sur-Marne");
    }
}
