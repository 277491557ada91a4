//! Copies of one request racing each other (a double click, a form sent
//! again, a relying party retrying, a flood from one address): whatever the
//! interleaving, the answers are those of the requests taken one after the
//! other. Two POSTs on one pending request give one answer to the client
//! and a page saying the request was already completed to every other
//! copy; a code or a refresh token is redeemed once and its replays revoke
//! what that redemption gave; one address opens no more pending requests
//! than its bound.

use crate::batches::count;
use crate::helpers::*;
use crate::rp::{offline, post_as, userinfo_status};
use crate::token::code_for;

/// How many copies of one form a test sends at once (a double click is
/// two; more make the interleaving that used to give two codes certain;
/// beyond six, logins would meet the throttle's free attempts).
const AT_ONCE: usize = 6;

/// How many copies of a relying party's request, or of an authorization
/// request, a test sends at once.
const RP_AT_ONCE: usize = 8;

/// How many times a test races a new code or refresh token: whether two
/// copies meet depends on the moment, so one round may miss a flaw.
const ROUNDS: usize = 4;

/// Sends `copies` copies of what `request` builds at once; returns the
/// answers as (status, Location or body text).
async fn all_at_once(
    copies: usize,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Vec<(u16, String)> {
    let mut sent = tokio::task::JoinSet::new();
    for _ in 0..copies {
        let request = request();
        sent.spawn(async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            match r.headers().get("location") {
                Some(l) => (status, l.to_str().unwrap().to_owned()),
                None => (status, unescape(&r.text().await.unwrap())),
            }
        });
    }
    sent.join_all().await
}

/// Posts `form` to `path` from `b`, [`AT_ONCE`] times at once.
async fn at_once(
    server: &TestServer,
    b: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> Vec<(u16, String)> {
    all_at_once(AT_ONCE, || b.post(server.url(path)).form(form)).await
}

/// Posts `form` to the token endpoint as `rp-basic`, `copies` times at
/// once.
async fn token_at_once(
    server: &TestServer,
    copies: usize,
    form: &[(&str, &str)],
) -> Vec<(u16, String)> {
    all_at_once(copies, || {
        rp_http()
            .post(server.url("/token"))
            .basic_auth("rp-basic", Some(BASIC_SECRET))
            .form(form)
    })
    .await
}

fn codes(answers: &[(u16, String)]) -> usize {
    answers
        .iter()
        .filter(|(_, to)| to.starts_with(REDIRECT) && query(to).contains_key("code"))
        .count()
}

fn assert_one_code_and_pages(answers: &[(u16, String)]) {
    assert_eq!(codes(answers), 1, "{answers:?}");
    let told = answers
        .iter()
        .filter(|(status, page)| *status == 400 && page.contains("a déjà été traitée"))
        .count();
    assert_eq!(told, AT_ONCE - 1, "the others are told: {answers:?}");
}

/// Exactly one token response and `invalid_grant` for every other copy;
/// returns the tokens given.
fn one_grant(answers: &[(u16, String)]) -> serde_json::Value {
    let body = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
    let granted: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    assert_eq!(granted.len(), 1, "one copy gets tokens: {answers:?}");
    let refused = answers
        .iter()
        .filter(|(status, text)| *status == 400 && body(text)["error"] == "invalid_grant")
        .count();
    assert_eq!(
        refused,
        answers.len() - 1,
        "the others get invalid_grant: {answers:?}"
    );
    body(&granted[0].1)
}

#[tokio::test]
async fn consent_accepts_racing_on_one_request_give_one_code() {
    let server = TestServer::start().await;
    server.add_user("double@example.test", true).await;
    let b = browser();
    let start = b.get(auth_url(&server, "")).send().await.unwrap();
    let consent = submit_login(&server, &b, &location(&start), "double@example.test").await;
    assert!(consent.starts_with("/consent?interaction="), "{consent}");
    let html = text_of(&b, server.url(&consent)).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", hidden(&html, "interaction")),
        ("decision", "accept".to_owned()),
    ];
    assert_one_code_and_pages(&at_once(&server, &b, "/consent", &form).await);
}

#[tokio::test]
async fn logins_racing_on_one_request_give_one_code() {
    // Consented already: the login answers the client straight away.
    let server = TestServer::start().await;
    signed_in(&server, "twice@example.test").await;
    let b = browser();
    let start = b.get(auth_url(&server, "")).send().await.unwrap();
    let html = text_of(&b, server.url(&location(&start))).await;
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("interaction", hidden(&html, "interaction")),
        ("email", "twice@example.test".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    assert_one_code_and_pages(&at_once(&server, &b, "/login", &form).await);
}

/// A relying party redeeming one code many times at once gets tokens once,
/// `invalid_grant` for every other copy, and the tokens it got are revoked
/// by the replays (RFC 6749 §4.1.2), as when the copies come one by one.
#[tokio::test]
async fn a_code_redeemed_by_many_requests_at_once_gives_tokens_once() {
    let server = TestServer::start().await;
    let (b, _) = signed_in(&server, "rush@example.test").await;
    for _ in 0..ROUNDS {
        let code = code_for(&server, &b, "").await;
        let answers = token_at_once(
            &server,
            RP_AT_ONCE,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
        let tokens = one_grant(&answers);
        assert_eq!(
            userinfo_status(&server, tokens["access_token"].as_str().unwrap()).await,
            401,
            "the replays revoked the winner's token: {answers:?}"
        );
    }
}

/// A refresh token presented twice at once (two tabs of one application)
/// is rotated once; the other copy is a reuse of a rotated token, which
/// kills the family (RFC 9700 §4.14.2): the new refresh token and access
/// token die too. Two copies, not more: a third arriving after the first
/// had finished would kill the family whatever the other two did.
#[tokio::test]
async fn a_refresh_token_used_twice_at_once_is_rotated_once() {
    let server = TestServer::start().await;
    for round in 0..ROUNDS {
        let email = format!("rush-rt-{round}@example.test");
        a_refresh_token_at_once(&server, &email).await;
    }
}

/// One round of the test above, on a new family of `email`'s.
async fn a_refresh_token_at_once(server: &TestServer, email: &str) {
    let (_, _, signed) = offline(server, email).await;
    let refresh = signed.refresh.unwrap();
    let answers = token_at_once(
        server,
        2,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.secret()),
        ],
    )
    .await;
    let tokens = one_grant(&answers);
    let newer = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = post_as(
        server,
        "/token",
        "rp-basic",
        &[("grant_type", "refresh_token"), ("refresh_token", newer)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the rotated token died with its family: {answers:?}"
    );
    assert_eq!(
        userinfo_status(server, tokens["access_token"].as_str().unwrap()).await,
        401,
        "so did the winner's access token: {answers:?}"
    );
}

/// Authorization requests from one address with no session, sent at once:
/// as many reach the login page as the bound allows, the others get 429.
/// Each round is another address (the proxy in front says which); every
/// other round the requests carry a session cookie that names no session
/// (an ended one), which sends them the signed-in way first.
#[tokio::test]
async fn pending_requests_opened_at_once_stay_within_the_client_address_bound() {
    let server = TestServer::start_with(
        "trusted_proxies = [\"127.0.0.1/32\"]\n[policy]\npending_requests_per_client = 3\n",
    )
    .await;
    let flood = rp_http();
    let ended = format!("sesame_session={}", "e".repeat(43));
    for round in 0..ROUNDS {
        let address = format!("198.51.100.{round}");
        let answers = all_at_once(RP_AT_ONCE, || {
            let request = flood
                .get(auth_url(&server, ""))
                .header("x-forwarded-for", &address);
            match round % 2 {
                1 => request.header("cookie", &ended),
                _ => request,
            }
        })
        .await;
        let to_login = answers
            .iter()
            .filter(|(status, to)| *status == 303 && to.starts_with("/login?interaction="))
            .count();
        assert_eq!(
            to_login, 3,
            "the bound's worth reach the login page: {answers:?}"
        );
        let held = answers
            .iter()
            .filter(|(status, page)| {
                *status == 429 && page.contains("Trop de demandes de connexion")
            })
            .count();
        assert_eq!(held, RP_AT_ONCE - 3, "the others are held: {answers:?}");
    }
    let pending = count(&server.app.store, "SELECT COUNT(*) FROM interactions").await;
    assert_eq!(
        pending,
        3 * ROUNDS as i64,
        "no row for the refused requests"
    );
}
