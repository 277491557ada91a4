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

#[tokio::test]
async fn a_code_another_node_holds_is_redeemed_once_it_lets_go() {
    let server = TestServer::start().await;
    if !server.on_postgresql() {
        return;
    }
    let (b, _) = signed_in(&server, "held@example.test").await;
    let code = code_for(&server, &b, "").await;

    // Another node's hot batch holding every code's row (this one's).
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
