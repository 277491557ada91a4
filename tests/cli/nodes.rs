//! Two `sesame serve` processes on one PostgreSQL database and one keys
//! folder, as two nodes behind a load balancer: one citizen's journey hops
//! between them, then one node dies and the other carries on.
//!
//! Needs a PostgreSQL server (`SESAME_TEST_POSTGRES`): `scripts/test`
//! starts one and runs this test with `--ignored`.

use std::path::Path;
use std::process::Command;

use crate::common::instance::{PASSWORD, free_port, portal_clients_toml, write_instance};
use crate::common::web::{browser, location, rp_http};
use crate::process::{CALLBACK, Instance, RP, SECRET};
use crate::{Serving, sesame, text};

/// One node: its own folder and port, the shared database, keys and issuer.
fn node(dir: &Path, port: u16, shared: &str) -> (String, Serving) {
    let listen = format!("127.0.0.1:{port}");
    let clients = portal_clients_toml(RP, SECRET);
    let config = write_instance(dir, ISSUER.get().unwrap(), &listen, &clients, shared);
    let serving = Serving::start(
        &mut Command::new(env!("CARGO_BIN_EXE_sesame")),
        &["--config", config.to_str().unwrap()],
    );
    (format!("http://{listen}"), serving)
}

/// The issuer both nodes declare (the load balancer's name in production;
/// here the first node's address).
static ISSUER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn token(node: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let answer = rp_http()
        .post(format!("{node}/token"))
        .basic_auth("portail-citoyen", Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn userinfo(node: &str, access_token: &str) -> (u16, serde_json::Value) {
    let answer = rp_http()
        .get(format!("{node}/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

fn code_of(redirect: &str) -> String {
    assert!(redirect.starts_with(CALLBACK), "{redirect}");
    let url = url::Url::parse(redirect).unwrap();
    let code = url.query_pairs().find(|(k, _)| k == "code");
    code.unwrap_or_else(|| panic!("no code in {redirect}"))
        .1
        .into()
}

#[tokio::test]
#[ignore = "needs PostgreSQL (SESAME_TEST_POSTGRES): scripts/test runs it"]
async fn a_journey_hops_between_two_nodes_and_survives_one() {
    let database = crate::common::instance::postgres_database()
        .expect("SESAME_TEST_POSTGRES names the PostgreSQL server");
    let root = tempfile::tempdir().unwrap();
    let keys = root.path().join("keys");
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let shared = format!(
        "database_url = \"{database}\"\nkeys_dir = \"{}\"\n",
        keys.display()
    );
    let (port_a, port_b) = (free_port(), free_port());
    ISSUER.get_or_init(|| format!("http://127.0.0.1:{port_a}"));
    let (a, serving_a) = node(&dir_a, port_a, &shared);
    let (b, serving_b) = node(&dir_b, port_b, &shared);
    let added = sesame(
        &[
            "user",
            "add",
            "--config",
            dir_b.join("sesame.toml").to_str().unwrap(),
            "--email",
            "lea@example.test",
            "--password-stdin",
            "--verified",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(added.status.success(), "{}", text(&added.stderr));

    // Authorize and sign in on A (its pages, its form posts).
    let citizen = browser();
    let on_a = Instance::authorize_url_at(&a, "openid%20email%20offline_access", "&prompt=consent");
    let code = Instance::walk(&a, &citizen, &on_a, "lea@example.test").await;

    // The code is redeemed on B.
    let (status, tokens) = token(
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Userinfo on A with B's token: one key set, one database.
    let (status, claims) = userinfo(&a, &access).await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["email"], "lea@example.test");

    // Refresh on B; the rotated-out token is refused on A.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", &first_refresh),
    ];
    let (status, renewed) = token(&b, &refresh).await;
    assert_eq!(status, 200, "{renewed}");
    let (status, refused) = token(&a, &refresh).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");

    // Single sign-on on B: the session opened on A is known there.
    let silent = format!(
        "{b}/authorize?client_id=portail-citoyen&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback\
         &response_type=code&scope=openid%20email&state=st4te&nonce=n0nce&prompt=none"
    );
    let answer = citizen.get(&silent).send().await.unwrap();
    let sso_code = code_of(&location(&answer));

    // A dies; B carries on with what A started.
    drop(serving_a);
    assert!(
        rp_http()
            .get(format!("{a}/health/live"))
            .send()
            .await
            .is_err(),
        "node A is down"
    );
    let (status, tokens) = token(
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &sso_code),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, claims) = userinfo(&b, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{claims}");
    assert_eq!(claims["email"], "lea@example.test");
    // The replay on A revoked the whole refresh family, for B too.
    let renewed_refresh = renewed["refresh_token"].as_str().unwrap();
    let (status, again) = token(
        &b,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", renewed_refresh),
        ],
    )
    .await;
    assert_eq!(status, 400, "{again}");
    drop(serving_b);
}
