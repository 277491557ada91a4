//! A Sésame and a portal on free ports, a cookie-keeping client that does
//! not follow redirects, and helpers to walk Sésame's pages.

#![allow(dead_code)]

use sesame::app::AppState;

pub use crate::common::instance::PASSWORD;
pub use crate::common::web::{browser, hidden, location, unescape as text};
use crate::portal;

pub const CLIENT_SECRET: &str = "portal-secret-0123456789abcdef0123456789";

pub struct Servers {
    pub sesame: String,
    pub app: AppState,
    pub portal: String,
    pub state: portal::State,
    pub _dir: tempfile::TempDir,
}

impl Servers {
    pub async fn start() -> Servers {
        let dir = tempfile::tempdir().unwrap();
        let portal_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let portal = format!("http://{}", portal_listener.local_addr().unwrap());
        let clients = crate::common::instance::portal_clients_toml(&portal, CLIENT_SECRET);
        let crate::common::server::Running { base: sesame, app } =
            crate::common::server::start(dir.path(), &clients, "").await;

        let state = portal::build(portal::Config {
            issuer: sesame.clone(),
            client_id: "portail-citoyen".into(),
            client_secret: CLIENT_SECRET.into(),
            public_url: portal.clone(),
            data_dir: dir.path().join("portal"),
        })
        .await
        .unwrap();
        let router = portal::app(state.clone());
        tokio::spawn(async move { axum::serve(portal_listener, router).await });
        Servers {
            sesame,
            app,
            portal,
            state,
            _dir: dir,
        }
    }

    pub fn portal(&self, path: &str) -> String {
        format!("{}{path}", self.portal)
    }

    /// A citizen in Sésame (email verified), as `sesame user add` makes.
    pub async fn add_citizen(&self, email: &str) -> String {
        let mut user = crate::common::server::citizen(email, 0);
        user.email_verified = true;
        user.given_name = Some("Nathalie".into());
        user.family_name = Some("Test".into());
        user.gender = Some("female".into());
        user.phone_number = Some("+33145252623".into());
        user.roles = vec!["citizen".into(), "parent".into()];
        crate::common::server::insert(&self.app, user).await
    }
}

/// How a walk through Sésame should answer its consent page.
#[derive(Clone, Copy, PartialEq)]
pub enum Consent {
    Accept,
    Deny,
}

/// « Se connecter » on the portal, then Sésame's login and consent pages
/// as needed; returns the portal's answer to the callback.
pub async fn sign_in(
    servers: &Servers,
    browser: &reqwest::Client,
    email: &str,
    consent: Consent,
) -> reqwest::Response {
    let start = browser
        .get(servers.portal("/se-connecter"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303, "Se connecter redirects to Sésame");
    let mut next = location(&start);
    assert!(next.starts_with(&servers.sesame), "{next}");
    for _ in 0..6 {
        let url = if next.starts_with('/') {
            format!("{}{next}", servers.sesame)
        } else {
            next.clone()
        };
        if url.starts_with(&servers.portal) {
            return browser.get(&url).send().await.unwrap();
        }
        let response = browser.get(&url).send().await.unwrap();
        if response.status().is_redirection() {
            next = location(&response);
            continue;
        }
        assert_eq!(response.status(), 200, "{url}");
        let html = response.text().await.unwrap();
        let path = url::Url::parse(&url).unwrap().path().to_owned();
        let (action, form): (&str, Vec<(&str, String)>) = match path.as_str() {
            "/login" => (
                "/login",
                vec![
                    ("csrf", hidden(&html, "csrf")),
                    ("interaction", hidden(&html, "interaction")),
                    ("email", email.to_owned()),
                    ("password", PASSWORD.to_owned()),
                ],
            ),
            "/consent" => (
                "/consent",
                vec![
                    ("csrf", hidden(&html, "csrf")),
                    ("interaction", hidden(&html, "interaction")),
                    (
                        "decision",
                        if consent == Consent::Accept {
                            "accept"
                        } else {
                            "deny"
                        }
                        .to_owned(),
                    ),
                ],
            ),
            other => panic!("unexpected Sésame page {other}"),
        };
        let posted = browser
            .post(format!("{}{action}", servers.sesame))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            posted.status().is_redirection(),
            "{action}: {}",
            posted.status()
        );
        next = location(&posted);
    }
    panic!("too many pages on the way back to the portal");
}

/// Signs in as a new citizen and lands on the Rapprochement page.
pub async fn signed_in_unlinked(servers: &Servers, email: &str) -> (reqwest::Client, String) {
    let sub = servers.add_citizen(email).await;
    let browser = browser();
    let callback = sign_in(servers, &browser, email, Consent::Accept).await;
    assert_eq!(callback.status(), 303);
    assert_eq!(
        location(&callback),
        "/rapprochement",
        "unknown sub → Rapprochement"
    );
    (browser, sub)
}

/// Signs in and links the demo portal account; returns the browser and sub.
pub async fn signed_in_linked(servers: &Servers, email: &str) -> (reqwest::Client, String) {
    let (browser, sub) = signed_in_unlinked(servers, email).await;
    let csrf = csrf_of(&browser, &servers.portal("/rapprochement")).await;
    let linked = lier(
        &browser,
        servers,
        &csrf,
        portal::db::DEMO_IDENTIFIANT,
        portal::db::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(location(&linked), "/rapprochement/active");
    (browser, sub)
}

/// Posts the « J'ai déjà un compte » form of the Rapprochement page.
pub async fn lier(
    browser: &reqwest::Client,
    servers: &Servers,
    csrf: &str,
    identifiant: &str,
    mot_de_passe: &str,
) -> reqwest::Response {
    browser
        .post(servers.portal("/rapprochement/lier"))
        .form(&[
            ("csrf", csrf),
            ("identifiant", identifiant),
            ("mot_de_passe", mot_de_passe),
        ])
        .send()
        .await
        .unwrap()
}

/// The CSRF token of the forms of a portal page.
pub async fn csrf_of(browser: &reqwest::Client, url: &str) -> String {
    let html = browser.get(url).send().await.unwrap().text().await.unwrap();
    hidden(&html, "csrf")
}

/// GETs a portal page and returns (status, text).
pub async fn page(browser: &reqwest::Client, url: &str) -> (u16, String) {
    let r = browser.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, text(&r.text().await.unwrap()))
}
