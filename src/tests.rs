//! Property tests of everything that parses outside input: form and query
//! parameters, the claims parameter, `id_token_hint`, `sesame.toml` and
//! `clients.toml`, scopes, client ids and redirect URIs. Whatever the
//! bytes, each answers a value or an error: none panics.

use std::path::Path;

use proptest::prelude::*;

use crate::config::{Clients, Config};
use crate::oidc::params::Params;
use crate::oidc::scopes::ClaimsRequest;
use crate::protocol::{ClientId, RedirectUri, Scope, Scopes};

/// Text that looks like TOML often enough to reach past the tokenizer.
fn tomlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[[client]]\n".to_owned()),
        Just("[server]\n".to_owned()),
        Just("[policy]\n".to_owned()),
        Just("id = \"c\"\n".to_owned()),
        Just("redirect_uris = [\"".to_owned()),
        Just("trusted_proxies = [\"".to_owned()),
        Just("\"]\n".to_owned()),
        Just(" = ".to_owned()),
        "[a-z_]{1,24}",
        "[ -~]{0,24}",
        "[0-9]{1,20}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parameters_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512),
                              name in "[a-z_]{1,12}") {
        let params = Params::parse(&input);
        let _ = params.get(&name);
        let _ = params.first(&name);
        let _ = params.repeated();
        let _ = params.oversized();
    }

    #[test]
    fn claims_parameter_never_panics(json in "\\PC{0,200}") {
        let _ = ClaimsRequest::parse(&json);
    }

    #[test]
    fn claims_shaped_json_never_panics(
        part in prop_oneof![Just("userinfo"), Just("id_token"), Just("x")],
        claim in "[a-z_]{1,12}",
        value in prop_oneof![
            Just("null".to_owned()),
            Just("{\"essential\":true}".to_owned()),
            Just("{\"values\":[1,\"a\",null]}".to_owned()),
            "\\PC{0,20}",
        ],
    ) {
        let _ = ClaimsRequest::parse(&format!("{{\"{part}\":{{\"{claim}\":{value}}}}}"));
    }

    #[test]
    fn scope_text_never_panics(text in "\\PC{0,80}") {
        let _ = Scopes::parse(&text);
    }

    #[test]
    fn a_scope_value_is_a_set(picks in proptest::collection::vec(0..Scope::ALL.len(), 0..12),
                              spaces in proptest::collection::vec(1..4usize, 12)) {
        let names: Vec<&str> = picks.iter().map(|&i| Scope::ALL[i].as_str()).collect();
        let mut text = String::new();
        for (name, n) in names.iter().zip(&spaces) {
            text.push_str(&" ".repeat(*n));
            text.push_str(name);
        }
        let parsed = Scopes::parse(&text).unwrap();
        // Order and repetition make no difference…
        let mut reversed = names.clone();
        reversed.reverse();
        prop_assert_eq!(Scopes::parse(&reversed.join(" ")).unwrap(), parsed);
        // …each name given is in, and nothing else…
        for scope in Scope::ALL {
            prop_assert_eq!(parsed.contains(scope), names.contains(&scope.as_str()));
        }
        // …and the printed form reads back as the same set, once each, in
        // the order of Scope::ALL.
        let printed = parsed.to_string();
        prop_assert_eq!(Scopes::parse(&printed).unwrap(), parsed);
        let order: Vec<usize> = printed
            .split(' ')
            .filter(|n| !n.is_empty())
            .map(|n| Scope::ALL.iter().position(|s| s.as_str() == n).unwrap())
            .collect();
        prop_assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", printed);
    }

    #[test]
    fn a_scope_value_with_an_unknown_name_is_refused(known in "(openid |email )*",
                                                     unknown in "[a-z_]{1,16}") {
        prop_assume!(Scope::parse(&unknown).is_none());
        let text = format!("{known}{unknown}");
        prop_assert_eq!(Scopes::parse(&text).map_err(|e| e.0), Err(unknown));
    }

    #[test]
    fn client_ids_and_redirect_uris_never_panic(text in prop_oneof![
        "\\PC{0,80}",
        "(https?|org\\.ville\\.app|javascript|data):(//)?[a-z0-9.:@\\[\\]]{0,24}(/[ -~]{0,24})?",
    ]) {
        if let Some(id) = ClientId::parse(&text) {
            prop_assert_eq!(id.as_str(), text.as_str());
        }
        if let Ok(uri) = RedirectUri::parse(&text) {
            // Kept exactly as given: requests are compared with it byte for byte.
            prop_assert_eq!(uri.as_str(), text.as_str());
        }
    }

    #[test]
    fn clients_file_never_panics(text in tomlish()) {
        let _ = Clients::parse(&text, Path::new("clients.toml"));
    }
}

proptest! {
    // Each case writes a file: fewer of them.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sesame_toml_never_panics(text in tomlish()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sesame.toml");
        std::fs::write(&path, &text).unwrap();
        let _ = Config::load(&path);
    }
}

#[test]
fn id_token_hint_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let keys = crate::keys::KeyRing::load_or_create(dir.path(), 0).unwrap();
    let segment = "[A-Za-z0-9_-]{0,40}";
    let token = prop_oneof![
        any::<String>(),
        (segment, segment, segment).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        // A well-formed header over arbitrary claims and signature.
        ("\\PC{0,60}", segment).prop_map(|(claims, sig)| {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.{sig}",
                b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
                b64.encode(claims)
            )
        }),
    ];
    proptest!(ProptestConfig { cases: 256, ..ProptestConfig::default() }, |(t in token)| {
        let _ = crate::oidc::tokens::id_token_hint(&keys, "http://127.0.0.1:8080", &t);
    });
}
