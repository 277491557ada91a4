//! A `sesame serve` process with its own instance, and a relying party's
//! and a citizen's walk through it over HTTP (no in-process shortcut: what
//! the operator runs is what is tested).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::instance::{PASSWORD, free_port, portal_clients_toml, write_instance};
use crate::common::web::{browser, hidden, location, rp_http, text_of};
use crate::{Serving, sesame, text};

pub const SECRET: &str = "ops-portal-secret-0123456789abcdef01234567";
pub const RP: &str = "http://127.0.0.1:9";
pub const CALLBACK: &str = "http://127.0.0.1:9/callback";

/// A served instance: its folder, its issuer and the process.
pub struct Instance {
    pub config: PathBuf,
    pub issuer: String,
    pub serving: Serving,
}

impl Instance {
    /// Writes an instance in `dir` for the portal client (with [`SECRET`])
    /// and `extra` settings, adds `citizens` (verified, [`PASSWORD`]), and
    /// starts `sesame serve` on a free port.
    pub fn start(dir: &Path, extra: &str, citizens: &[&str]) -> Instance {
        Instance::start_logging(dir, extra, citizens, "info")
    }

    /// [`Instance::start`] with the log filter `filter` (`RUST_LOG`).
    pub fn start_logging(dir: &Path, extra: &str, citizens: &[&str], filter: &str) -> Instance {
        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let listen = format!("127.0.0.1:{port}");
        let clients = portal_clients_toml(RP, SECRET);
        let config = write_instance(dir, &issuer, &listen, &clients, extra);
        let c = config.to_str().unwrap();
        for email in citizens {
            let args = [
                "user",
                "add",
                "--config",
                c,
                "--email",
                email,
                "--password-stdin",
                "--verified",
            ];
            let added = sesame(&args, Some(&format!("{PASSWORD}\n")));
            assert!(added.status.success(), "{}", text(&added.stderr));
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
        let serving = Serving::start(command.env("RUST_LOG", filter), &["--config", c]);
        Instance {
            config,
            issuer,
            serving,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// An authorization request for the portal with `scope`.
    pub fn authorize_url(&self, scope: &str, extra: &str) -> String {
        Instance::authorize_url_at(&self.issuer, scope, extra)
    }

    /// [`Instance::authorize_url`] on the server at `base`.
    pub fn authorize_url_at(base: &str, scope: &str, extra: &str) -> String {
        format!(
            "{base}/authorize?client_id=portail-citoyen&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback\
             &response_type=code&scope={scope}&state=st4te&nonce=n0nce{extra}"
        )
    }

    /// Follows an authorization request in `browser` through the login
    /// and consent pages; returns the code.
    pub async fn code(&self, browser: &reqwest::Client, auth_url: &str, email: &str) -> String {
        Instance::walk(&self.issuer, browser, auth_url, email).await
    }

    /// [`Instance::code`] through the pages of the server at `base`.
    pub async fn walk(
        base: &str,
        browser: &reqwest::Client,
        auth_url: &str,
        email: &str,
    ) -> String {
        let at = |path: &str| format!("{base}{path}");
        let mut next = browser.get(auth_url).send().await.unwrap();
        for _ in 0..4 {
            let loc = location(&next);
            if loc.starts_with(CALLBACK) {
                let url = url::Url::parse(&loc).unwrap();
                let code = url.query_pairs().find(|(k, _)| k == "code");
                return code.unwrap_or_else(|| panic!("no code in {loc}")).1.into();
            }
            let html = text_of(browser, at(&loc)).await;
            let mut form = vec![
                ("csrf", hidden(&html, "csrf")),
                ("interaction", hidden(&html, "interaction")),
            ];
            let action = if loc.starts_with("/login") {
                form.push(("email", email.to_owned()));
                form.push(("password", PASSWORD.to_owned()));
                "/login"
            } else {
                form.push(("decision", "accept".to_owned()));
                "/consent"
            };
            next = browser.post(at(action)).form(&form).send().await.unwrap();
        }
        panic!("too many pages");
    }

    /// Posts a token request as the portal; returns the status and JSON.
    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let answer = rp_http()
            .post(self.url("/token"))
            .basic_auth("portail-citoyen", Some(SECRET))
            .form(form)
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }

    /// A signed-in citizen's ID token (a fresh code flow in `browser`).
    pub async fn id_token(&self, browser: &reqwest::Client, email: &str) -> String {
        let code = self
            .code(browser, &self.authorize_url("openid", ""), email)
            .await;
        let (status, tokens) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ])
            .await;
        assert_eq!(status, 200, "{tokens}");
        tokens["id_token"].as_str().unwrap().to_owned()
    }

    /// The JWKS as served now.
    pub async fn jwks(&self) -> josekit::jwk::JwkSet {
        let body = rp_http()
            .get(self.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        josekit::jwk::JwkSet::from_bytes(&body).unwrap()
    }
}

/// A fresh browser (cookies kept, redirects not followed).
pub fn new_browser() -> reqwest::Client {
    browser()
}

/// The `kid` of a JWS, and whether `jwks` verifies its signature.
pub fn check_against(jwks: &josekit::jwk::JwkSet, jws: &str) -> (String, bool) {
    let header = josekit::jwt::decode_header(jws).unwrap();
    let kid = header.claim("kid").unwrap().as_str().unwrap().to_owned();
    let verified = jwks.get(&kid).first().is_some_and(|jwk| {
        josekit::jws::RS256
            .verifier_from_jwk(jwk)
            .is_ok_and(|v| josekit::jwt::decode_with_verifier(jws, &v).is_ok())
    });
    (kid, verified)
}
