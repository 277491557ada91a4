//! Throttling seen from outside: a guessing loop against one account meets
//! 429 with `Retry-After` and no argon2, the right password waits for the
//! delay too, unknown addresses are treated the same, a success or a reset
//! clears the count, the per-client bound is looser; a third party cannot
//! use up the owner's mails; one client address opens only so many pending
//! requests; a sign-up over its limit costs no password work.

use std::net::IpAddr;

use crate::helpers::*;
use crate::reset::{NEW_PASSWORD, choose, forgot, reset_link};
use crate::signup::{citizen, submit_signup, with_smtp};

/// A browser whose connections come from `ip` (any 127.x.y.z reaches the
/// server on 127.0.0.1): another client address for the limits.
fn browser_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// One sign-in attempt: status, `Retry-After` (if any) and page.
async fn attempt(
    server: &TestServer,
    b: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, Option<i64>, String) {
    let response = post_bare_login(server, b, email, password).await;
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (
        response.status().as_u16(),
        retry,
        unescape(&response.text().await.unwrap()),
    )
}

/// A first block of a minute, so that no test depends on the machine's pace.
pub const SLOW: &str = "[policy]\nlogin_first_delay_seconds = 60\n";

/// Moves the throttle's clock: every block ends now.
pub async fn let_blocks_end(server: &TestServer) {
    server
        .app
        .store
        .run(|tx| tx.execute_sql("UPDATE throttle SET blocked_until = 0"))
        .await
        .unwrap();
}

async fn wrong_passwords(
    server: &TestServer,
    b: &reqwest::Client,
    email: &str,
    n: usize,
) -> Vec<(u16, Option<i64>)> {
    let mut seen = Vec::new();
    for i in 0..n {
        let (status, retry, _) = attempt(server, b, email, &format!("Wrong-{i}-pass")).await;
        seen.push((status, retry));
    }
    seen
}

#[tokio::test]
async fn thirty_wrong_passwords_meet_429_and_the_right_one_waits_for_the_delay() {
    let server = TestServer::start_with(SLOW).await;
    server.add_user("cible@example.test", true).await;
    let b = browser();
    let before = server.app.hasher.runs();
    let seen = wrong_passwords(&server, &b, "cible@example.test", 30).await;
    let checked = server.app.hasher.runs() - before;
    assert!(
        seen[..6].iter().all(|&(s, r)| s == 200 && r.is_none()),
        "five free failures, and the sixth is checked: {seen:?}"
    );
    assert!(
        seen[6..]
            .iter()
            .all(|&(s, r)| s == 429 && matches!(r, Some(1..=60))),
        "then 429 with Retry-After: {seen:?}"
    );
    assert_eq!(checked, 6, "a throttled attempt runs no argon2");

    let (status, retry, page) = attempt(&server, &b, "cible@example.test", PASSWORD).await;
    assert_eq!(
        (status, retry.is_some()),
        (429, true),
        "the right password waits too"
    );
    assert!(page.contains("Trop de tentatives de connexion"), "{page}");
    assert!(page.contains("réessayez dans"), "{page}");
    assert!(
        page.contains("href=\"/password/forgot\"") && page.contains("Mot de passe oublié ?"),
        "the 429 page offers the reset: {page}"
    );

    let_blocks_end(&server).await;
    let (status, _, _) = attempt(&server, &b, "cible@example.test", PASSWORD).await;
    assert_eq!(status, 303, "accepted once the delay is over");
    let left = server
        .app
        .store
        .run(|tx| tx.query_i64("SELECT COUNT(*) FROM throttle WHERE key LIKE 'login:%'"))
        .await
        .unwrap();
    assert_eq!(left, 0, "the success cleared the account's count");
}

#[tokio::test]
async fn an_unknown_address_is_throttled_exactly_like_a_known_one() {
    let server = TestServer::start_with(SLOW).await;
    server.add_user("connue@example.test", true).await;
    let known = wrong_passwords(&server, &browser(), "connue@example.test", 9).await;
    let unknown = wrong_passwords(&server, &browser(), "inconnue@example.test", 9).await;
    // Retry-After counts down in whole seconds: the same up to the clock.
    let shape = |seen: &[(u16, Option<i64>)]| -> Vec<(u16, Option<bool>)> {
        seen.iter()
            .map(|&(s, r)| (s, r.map(|r| (50..=60).contains(&r))))
            .collect()
    };
    assert_eq!(shape(&known), shape(&unknown));
    assert_eq!(shape(&known)[8], (429, Some(true)));
    // Whatever its case, an address is one counter.
    let (status, _, _) = attempt(&server, &browser(), "INCONNUE@Example.test", "x").await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn a_success_clears_the_accounts_count() {
    let server = TestServer::start().await;
    server.add_user("oublieuse@example.test", true).await;
    let b = browser();
    wrong_passwords(&server, &b, "oublieuse@example.test", 5).await;
    let (status, _, _) = attempt(&server, &b, "oublieuse@example.test", PASSWORD).await;
    assert_eq!(status, 303);
    let again = wrong_passwords(&server, &browser(), "oublieuse@example.test", 6).await;
    assert!(
        again.iter().all(|&(s, _)| s == 200),
        "five free failures again: {again:?}"
    );
}

#[tokio::test]
async fn a_password_reset_clears_the_accounts_count() {
    // A minute's block: still running when the reset is done.
    let (server, sink) = with_smtp("[policy]\nlogin_first_delay_seconds = 60\n").await;
    server.add_user("bloquee@example.test", true).await;
    let b = browser();
    let seen = wrong_passwords(&server, &b, "bloquee@example.test", 7).await;
    assert_eq!(seen[6].0, 429);
    let (status, _) = forgot(&server, &b, "bloquee@example.test", None).await;
    assert_eq!(status, 200);
    let link = reset_link(&server, &sink, 1).await;
    let done = choose(&server, &b, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    let (status, _, page) =
        attempt(&server, &browser(), "bloquee@example.test", NEW_PASSWORD).await;
    assert_eq!(status, 303, "no wait after a reset: {page}");
}

#[tokio::test]
async fn one_client_address_guessing_many_accounts_is_slowed_others_are_not() {
    let server = TestServer::start_with(
        "[policy]\nlogin_client_failures_before_delay = 8\nlogin_first_delay_seconds = 60\n",
    )
    .await;
    server.add_user("voisine@example.test", true).await;
    let sprayer = browser_from("127.0.0.7");
    for i in 0..9 {
        let (status, _, _) = attempt(&server, &sprayer, &format!("c{i}@example.test"), "x").await;
        assert_eq!(status, 200, "attempt {i}: one failure per address");
    }
    let (status, retry, _) = attempt(&server, &sprayer, "c99@example.test", "x").await;
    assert_eq!(status, 429, "the client address is held");
    assert!(matches!(retry, Some(1..=60)), "{retry:?}");
    let (status, _, _) = attempt(
        &server,
        &browser_from("127.0.0.8"),
        "voisine@example.test",
        PASSWORD,
    )
    .await;
    assert_eq!(status, 303, "another client address signs in at once");
}

#[tokio::test]
async fn a_third_party_cannot_use_up_the_owners_reset_mails() {
    let (server, sink) = with_smtp("[policy]\nmail_min_interval_seconds = 0\n").await;
    server.add_user("victime@example.test", true).await;
    let attacker = browser_from("127.0.0.9");
    for n in 1..=5 {
        let (status, _) = forgot(&server, &attacker, "victime@example.test", None).await;
        assert_eq!(status, 200, "request {n}");
    }
    sink.nth(5).await;
    let (status, html) = forgot(&server, &attacker, "victime@example.test", None).await;
    assert_eq!(status, 429, "{html}");
    sink.assert_quiet(5).await;
    // The owner, from their own connection, still gets a link at once.
    let owner = browser_from("127.0.0.10");
    let (status, _) = forgot(&server, &owner, "victime@example.test", None).await;
    assert_eq!(status, 200);
    let link = reset_link(&server, &sink, 6).await;
    let done = choose(&server, &owner, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
}

#[tokio::test]
async fn a_sign_up_over_its_limit_costs_no_password_work() {
    let (server, sink) = with_smtp("[policy]\nmail_max_per_ip_per_hour = 1\n").await;
    let b = browser();
    let (status, _) = submit_signup(&server, &b, None, citizen("une@example.test", &[])).await;
    assert_eq!(status, 200);
    sink.nth(1).await;
    let before = server.app.hasher.runs();
    let (status, html) = submit_signup(&server, &b, None, citizen("deux@example.test", &[])).await;
    assert_eq!(status, 429, "{html}");
    assert_eq!(
        server.app.hasher.runs(),
        before,
        "no argon2 for a refused sign-up"
    );
    // Forgot and resend have no password work at all; their limit holds.
    let (status, _) = forgot(&server, &b, "une@example.test", None).await;
    assert_eq!(status, 429);
    assert_eq!(server.app.hasher.runs(), before);
}

#[tokio::test]
async fn one_client_address_opens_only_so_many_pending_requests() {
    let server = TestServer::start_with("[policy]\npending_requests_per_client = 3\n").await;
    let count = || async {
        server
            .app
            .store
            .run(|tx| tx.query_i64("SELECT COUNT(*) FROM interactions"))
            .await
            .unwrap()
    };
    let flood = browser_from("127.0.0.11");
    for _ in 0..3 {
        let response = flood.get(auth_url(&server, "")).send().await.unwrap();
        assert_eq!(response.status(), 303);
    }
    let response = flood.get(auth_url(&server, "")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    let page = unescape(&response.text().await.unwrap());
    assert!(page.contains("Trop de demandes de connexion"), "{page}");
    assert_eq!(count().await, 3, "no row for the refused request");
    let other = browser_from("127.0.0.12");
    let response = other.get(auth_url(&server, "")).send().await.unwrap();
    assert_eq!(response.status(), 303, "another client address is not held");
}
