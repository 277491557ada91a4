//! Prometheus metrics on `metrics_listen`: counters move with what
//! citizens and relying parties do, requests are labelled by route
//! template (never a raw path with a code in it), and the public address
//! does not serve them.

use crate::common::instance::free_port;
use crate::helpers::*;

/// The sum of the samples of `name` whose labels contain every one of
/// `labels` (`key="value"`).
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The metrics text (the listener is bound as the server starts serving,
/// a moment after the test gets its address).
async fn scrape(url: &str) -> String {
    for _ in 0..50 {
        if let Ok(answer) = rp_http().get(url).send().await {
            assert_eq!(answer.status(), 200);
            return answer.text().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("nothing listens on {url}");
}

#[tokio::test]
async fn counters_move_after_a_sign_in_and_a_token_request() {
    let port = free_port();
    let server = TestServer::start_with(&format!("metrics_listen = \"127.0.0.1:{port}\"\n")).await;
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    // The recorder is shared by every server of this test binary: compare.
    let before = scrape(&metrics).await;

    let (_, tokens) = signed_in(&server, "metrics@example.test").await;
    assert!(tokens["id_token"].is_string());
    let after = scrape(&metrics).await;

    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert!(
        moved("sesame_sign_ins_total", &["outcome=\"succeeded\""]) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "sesame_tokens_issued_total",
            &["grant_type=\"authorization_code\"", "client=\"rp-basic\""]
        ) >= 1.0,
        "{after}"
    );
    let token_route = ["route=\"/token\"", "method=\"POST\"", "status=\"200\""];
    assert!(moved("sesame_http_requests_total", &token_route) >= 1.0);
    assert!(
        moved(
            "sesame_http_request_duration_seconds_count",
            &["route=\"/token\""]
        ) >= 1.0
    );
    assert!(moved("sesame_db_job_duration_seconds_count", &[]) >= 1.0);
    assert!(after.contains("sesame_db_batch_size_bucket"));
    assert!(
        !after.contains("code="),
        "routes are templates, never raw paths or queries"
    );

    // Not on the public address.
    let public = rp_http().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
}

#[tokio::test]
async fn the_gauges_count_citizens_and_live_sessions() {
    let port = free_port();
    let server = TestServer::start_with(&format!("metrics_listen = \"127.0.0.1:{port}\"\n")).await;
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    // Read when the server starts, then every 15 s (not per scrape).
    let mut text = String::new();
    for _ in 0..50 {
        text = scrape(&metrics).await;
        if text.contains("sesame_citizens ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(text.contains("sesame_citizens "), "{text}");
    assert!(text.contains("sesame_live_sessions "), "{text}");
    assert!(
        text.contains("sesame_mail_queue_oldest_age_seconds "),
        "{text}"
    );
    drop(server);
}

/// On PostgreSQL every userinfo read goes through the shared reads, and
/// the histogram counts the reads each statement answered; SQLite has no
/// such path.
#[tokio::test]
async fn userinfo_reads_are_counted_by_the_statement_that_answered_them() {
    let port = free_port();
    let server = TestServer::start_with(&format!("metrics_listen = \"127.0.0.1:{port}\"\n")).await;
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let (_, tokens) = signed_in(&server, "shared-metrics@example.test").await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    // Once alone, so that the statement is prepared before the count.
    assert_eq!(crate::rp::userinfo_status(&server, &token).await, 200);
    let before = scrape(&metrics).await;

    let asks: Vec<_> = (0..24)
        .map(|_| {
            let (url, token) = (server.url("/userinfo"), token.clone());
            tokio::spawn(async move {
                let answer = rp_http().get(url).bearer_auth(token).send().await.unwrap();
                answer.status().as_u16()
            })
        })
        .collect();
    for ask in asks {
        assert_eq!(ask.await.unwrap(), 200);
    }
    let after = scrape(&metrics).await;
    let moved = |name: &str| sample(&after, name, &[]) - sample(&before, name, &[]);
    if server.on_postgresql() {
        // Other tests of this binary may read too: at least ours.
        assert!(moved("sesame_db_shared_reads_sum") >= 24.0, "{after}");
        assert!(moved("sesame_db_shared_reads_count") >= 1.0, "{after}");
    } else {
        assert_eq!(moved("sesame_db_shared_reads_sum"), 0.0, "{after}");
    }
}
