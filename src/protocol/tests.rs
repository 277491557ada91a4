use super::*;

fn scopes(text: &str) -> Scopes {
    Scopes::parse(text).unwrap()
}

#[test]
fn scopes_ignore_order_and_repetition() {
    assert_eq!(scopes("email openid"), scopes("openid email email"));
    assert_eq!(scopes("  openid   email "), scopes("email openid"));
    assert_eq!(scopes(""), Scopes::EMPTY);
    assert_eq!(scopes("email openid email").len(), 2);
}

#[test]
fn scopes_print_in_discovery_order() {
    assert_eq!(
        scopes("offline_access email openid").to_string(),
        "openid email offline_access"
    );
    assert_eq!(Scopes::EMPTY.to_string(), "");
    assert_eq!(
        scopes("openid offline_access email").alphabetical(),
        "email offline_access openid"
    );
    let all: Vec<Scope> = scopes("roles phone address profile email openid offline_access")
        .iter()
        .collect();
    assert_eq!(all, Scope::ALL);
}

#[test]
fn unknown_and_miscased_scopes_are_refused_by_name() {
    assert_eq!(Scopes::parse("openid wat"), Err(UnknownScope("wat".into())));
    assert_eq!(Scopes::parse("OpenID"), Err(UnknownScope("OpenID".into())));
    // Only spaces separate (RFC 6749 §3.3): a tab is part of a name.
    assert!(Scopes::parse("openid\temail").is_err());
}

#[test]
fn set_operations() {
    let granted = scopes("openid email profile");
    assert!(scopes("email openid").is_subset(granted));
    assert!(!scopes("email phone").is_subset(granted));
    assert!(Scopes::EMPTY.is_subset(granted));
    assert!(granted.contains(Scope::Profile));
    assert!(!granted.contains(Scope::Roles));
    assert_eq!(
        granted.union(scopes("roles")),
        scopes("openid email profile roles")
    );
    assert_eq!(granted.intersection(scopes("email roles")), scopes("email"));
    assert_eq!(
        Scopes::from_names(&["email", "openid"]),
        Ok(scopes("openid email"))
    );
}

#[test]
fn scopes_are_stored_as_a_list_of_names() {
    let json = serde_json::to_string(&scopes("email openid")).unwrap();
    assert_eq!(json, r#"["openid","email"]"#);
    // A pending request stored before sets existed: names in any order.
    let back: Scopes = serde_json::from_str(r#"["email","openid","email"]"#).unwrap();
    assert_eq!(back, scopes("openid email"));
    assert!(serde_json::from_str::<Scopes>(r#"["openid","wat"]"#).is_err());
}

#[test]
fn client_ids_follow_the_clients_toml_rule() {
    assert_eq!(
        ClientId::parse("portail-citoyen.v2_a").unwrap().as_str(),
        "portail-citoyen.v2_a"
    );
    for bad in ["", "a b", "é", "a/b", "x\n", &"a".repeat(129)] {
        assert_eq!(ClientId::parse(bad), None, "{bad:?}");
    }
    assert!(ClientId::parse(&"a".repeat(128)).is_some());
    assert!(serde_json::from_str::<ClientId>(r#""a b""#).is_err());
    assert_eq!(format!("{:<4}|", ClientId::parse("ab").unwrap()), "ab  |");
}

#[test]
fn redirect_uris_are_absolute_and_safe_to_send_a_code_to() {
    for good in [
        "https://rp.example/cb",
        "https://rp.example/cb?x=1",
        "http://127.0.0.1:8081/callback",
        "http://[::1]/cb",
        "http://localhost:3000/cb",
        "org.ville.app:/cb",
    ] {
        assert_eq!(
            RedirectUri::parse(good).map(|u| u.to_string()),
            Ok(good.to_owned())
        );
    }
    for bad in [
        "/cb",
        "rp.example/cb",
        "https://rp.example/cb#frag",
        "http://rp.example/cb",
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
    ] {
        assert!(RedirectUri::parse(bad).is_err(), "{bad}");
    }
    // Kept as written, not normalised: requests must match it exactly.
    let odd = RedirectUri::parse("HTTPS://RP.example:443/a/../cb").unwrap();
    assert_eq!(odd.as_str(), "HTTPS://RP.example:443/a/../cb");
    assert!(serde_json::from_str::<RedirectUri>(r#""javascript:x""#).is_err());
}
