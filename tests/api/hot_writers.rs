//! On PostgreSQL authorization and token requests run side by side on
//! connections of their own (the hot writers, `store::pg`), under the
//! writers' lock taken shared. One that meets another transaction on a row
//! gives up waiting after a moment and runs again where writers take turns:
//! the client still gets its answer, never an error.

use crate::helpers::*;
use crate::token::code_for;

/// The writers' lock, as `store::pg` takes it.
const WRITERS_LOCK: &str = "SELECT pg_advisory_xact_lock_shared(1582972416)";

/// How long the other transaction keeps the code's row: far past the hot
/// writers' `lock_timeout` (10 ms).
const HELD: std::time::Duration = std::time::Duration::from_millis(600);

/// Another node's hot batch holding the row of every code issued so far
/// for [`HELD`]; returns once it holds them.
fn hold_the_codes(server: &TestServer) -> std::thread::JoinHandle<()> {
    let database = server.app.config.database.clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let db = sesame::store::open_for_cli(&database).unwrap();
        let tx = db.tx();
        tx.execute_sql("BEGIN").unwrap();
        tx.execute_sql(WRITERS_LOCK).unwrap();
        tx.execute_sql("SELECT 1 FROM auth_codes FOR UPDATE")
            .unwrap();
        held_tx.send(()).unwrap();
        std::thread::sleep(HELD);
        tx.execute_sql("COMMIT").unwrap();
    });
    held_rx.recv().unwrap();
    holder
}

#[tokio::test]
async fn a_code_another_node_holds_is_redeemed_once_it_lets_go() {
    let server = TestServer::start().await;
    if !server.on_postgresql() {
        return;
    }
    let (b, _) = signed_in(&server, "held@example.test").await;
    let code = code_for(&server, &b, "").await;
    let holder = hold_the_codes(&server);

    let sent = std::time::Instant::now();
    let (status, tokens) = redeem(&server, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert!(
        sent.elapsed() >= HELD / 2,
        "answered after the row was let go ({:?})",
        sent.elapsed()
    );
    holder.join().unwrap();

    // The code was redeemed once: its replay is refused.
    let (status, again) = redeem(&server, &code).await;
    assert_eq!(status, 400);
    assert_eq!(again["error"], "invalid_grant");
}

/// Codes redeemed at the same moment as one whose row is held: the batch
/// that meets the held row ends there and the jobs behind it go on in the
/// next, so every redemption gets its tokens.
#[tokio::test]
async fn redemptions_beside_one_that_waits_are_all_answered() {
    let server = TestServer::start().await;
    if !server.on_postgresql() {
        return;
    }
    let (b, _) = signed_in(&server, "beside@example.test").await;
    // Where the held code lands in its batch is the moment's: rounds.
    for _ in 0..5 {
        let held = code_for(&server, &b, "").await;
        let holder = hold_the_codes(&server);
        // The held one among others, so that jobs queue behind it.
        let mut codes = Vec::new();
        for _ in 0..16 {
            codes.push(code_for(&server, &b, "").await);
        }
        codes.insert(8, held);
        // One task, every request in flight at once.
        let sent = codes.iter().map(|code| redeem(&server, code));
        let answers = futures_util::future::join_all(sent).await;
        holder.join().unwrap();
        assert!(
            answers.iter().all(|(status, _)| *status == 200),
            "every redemption gets its tokens: {answers:?}"
        );
    }
}
