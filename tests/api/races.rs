//! Two POSTs racing on one pending request (a double click, a form sent
//! again): the request is consumed in the job that answers it, so exactly
//! one answer goes back to the client and every other copy gets a page
//! saying the request was already completed.

use crate::helpers::*;

/// How many copies of one form a test sends at once (a double click is
/// two; more make the interleaving that used to give two codes certain).
const AT_ONCE: usize = 6;

/// Sends `form` to `path` [`AT_ONCE`] times at once from `b`; returns the
/// answers as (status, Location or page text).
async fn at_once(
    server: &TestServer,
    b: &reqwest::Client,
    path: &str,
    form: &[(&str, String)],
) -> Vec<(u16, String)> {
    let form: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut sent = tokio::task::JoinSet::new();
    for _ in 0..AT_ONCE {
        let (b, url, form) = (b.clone(), server.url(path), form.clone());
        sent.spawn(async move {
            let r = b.post(url).form(&form).send().await.unwrap();
            let status = r.status().as_u16();
            match r.headers().get("location") {
                Some(l) => (status, l.to_str().unwrap().to_owned()),
                None => (status, unescape(&r.text().await.unwrap())),
            }
        });
    }
    sent.join_all().await
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
