//! The connection layer: slow or stalled clients are cut off, the
//! connection cap holds, and ordinary requests are served meanwhile.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::*;

/// Reads until the server closes the connection; `None` if it is still
/// open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    match timeout(within, stream.read_to_end(&mut received)).await {
        Ok(_) => Some(received), // end of stream or reset: closed either way
        Err(_) => None,
    }
}

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn half_sent_headers_are_cut_off_while_others_are_served() {
    let server =
        TestServer::start_with("[server]\nheader_timeout_seconds = 1\nmax_connections = 30\n")
            .await;
    // More half-open requests than the cap: the ones over it wait until
    // the first ones are timed out.
    let mut slow = Vec::new();
    for _ in 0..45 {
        let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
        stream
            .write_all(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    let normal = timeout(
        Duration::from_secs(8),
        rp_http()
            .get(server.url("/.well-known/openid-configuration"))
            .send(),
    )
    .await
    .expect("a normal request is served while slow clients hold connections")
    .unwrap();
    assert_eq!(normal.status(), 200);
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(6))
                .await
                .is_some(),
            "slow connection {i} is still held open"
        );
    }
}

#[tokio::test]
async fn a_stalled_body_and_an_idle_keep_alive_connection_are_closed() {
    let server =
        TestServer::start_with("[server]\nheader_timeout_seconds = 1\nidle_timeout_seconds = 1\n")
            .await;
    // A whole head, then a body that stops after a few bytes.
    let mut stalled = TcpStream::connect(addr(&server)).await.unwrap();
    stalled
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
        )
        .await
        .unwrap();
    // A complete request, answered, then silence on the kept-alive connection.
    let mut idle = TcpStream::connect(addr(&server)).await.unwrap();
    idle.write_all(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = closed_within(&mut idle, Duration::from_secs(6))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(
        String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"),
        "the request itself was answered"
    );
    assert!(
        closed_within(&mut stalled, Duration::from_secs(6))
            .await
            .is_some(),
        "a stalled body keeps its connection open"
    );
}

#[tokio::test]
async fn health_says_live_and_ready_and_not_ready_while_the_database_is_locked() {
    let server = TestServer::start().await;
    let http = rp_http();
    let status = |path: &'static str| {
        let request = http.get(server.url(path)).send();
        async move { request.await.unwrap().status() }
    };
    assert_eq!(status("/health/live").await, 200);
    assert_eq!(status("/health/ready").await, 200);

    // Another process holds the database's write lock (a stuck maintenance
    // job): Sésame still lives, but is not ready.
    let (release_tx, holder) = hold_the_writers_lock(&server);
    assert_eq!(status("/health/ready").await, 503);
    assert_eq!(status("/health/live").await, 200);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let mut ready = status("/health/ready").await;
    for _ in 0..50 {
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = status("/health/ready").await;
    }
    assert_eq!(ready, 200, "ready again once the lock is released");
}

/// A browser behind the city's reverse proxy, which tells Sésame the
/// address it saw in `X-Forwarded-For`.
fn behind_proxy(forwarded_for: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Sign-ups from `client` for fresh addresses until the per-address mail
/// limit answers 429; how many were accepted.
async fn signups_accepted(server: &TestServer, client: &reqwest::Client, tag: &str) -> usize {
    use crate::signup::{citizen, submit_signup};
    for n in 0..4 {
        let email = format!("{tag}{n}@example.test");
        let (status, _) = submit_signup(server, client, None, citizen(&email, &[])).await;
        if status == 429 {
            return n;
        }
        assert_eq!(status, 200);
    }
    4
}

#[tokio::test]
async fn forwarded_for_is_believed_from_trusted_proxies_only() {
    let limits = "[policy]\nmail_min_interval_seconds = 0\nmail_max_per_ip_per_hour = 2\n";
    // Behind a trusted proxy, two citizens are two addresses: one using up
    // its allowance leaves the other's whole.
    let server =
        TestServer::start_with(&format!("trusted_proxies = [\"127.0.0.1/32\"]\n{limits}")).await;
    assert_eq!(
        signups_accepted(&server, &behind_proxy("203.0.113.7"), "a").await,
        2
    );
    assert_eq!(
        signups_accepted(&server, &behind_proxy("1.1.1.1, 203.0.113.8"), "b").await,
        2,
        "another citizen behind the same proxy is not limited by the first"
    );
    // Without trusted proxies, the header is the client's own claim: changing
    // it does not buy a fresh allowance.
    let server = TestServer::start_with(limits).await;
    assert_eq!(
        signups_accepted(&server, &behind_proxy("203.0.113.7"), "a").await,
        2
    );
    assert_eq!(
        signups_accepted(&server, &behind_proxy("203.0.113.8"), "b").await,
        0
    );
}
