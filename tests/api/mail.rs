//! Mail delivery: the SMTP server down does not stop a sign-up —
//! the mail waits in the durable queue and goes out when the server is
//! back; the outbox transport writes `.eml` files; mails follow the
//! citizen's language.

use std::time::Duration;

use crate::helpers::*;
use crate::mailbox::SmtpSink;
use crate::signup::{citizen, submit_signup, verify_link};

/// What waits in the queue: (recipient, attempts, last error).
async fn queue(server: &TestServer) -> Vec<(String, i64, Option<String>)> {
    server
        .app
        .store
        .run(sesame::store::mail_queue::pending)
        .await
        .unwrap()
}

#[tokio::test]
async fn smtp_down_the_signup_succeeds_and_the_mail_goes_out_when_it_is_back() {
    // A port with nothing listening (yet).
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], crate::common::instance::free_port()));
    let server = TestServer::start_with(&format!(
        "[mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://{addr}\"\n"
    ))
    .await;
    let b = browser();
    let (status, page) =
        submit_signup(&server, &b, None, citizen("patient@example.test", &[])).await;
    assert_eq!(status, 200);
    assert!(page.contains("Vous devez vérifier votre courriel pour activer votre compte."));
    let pending = server
        .app
        .store
        .run(|conn| sesame::store::signups::latest(conn, "patient@example.test"))
        .await
        .unwrap();
    assert!(pending.is_some(), "the sign-up is stored");

    // The worker tries, fails, keeps the mail and says why.
    let mut waited = 0;
    let failed = loop {
        let q = queue(&server).await;
        if q.first().is_some_and(|(_, attempts, _)| *attempts >= 1) {
            break q;
        }
        waited += 1;
        assert!(waited < 100, "no delivery attempt: {q:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "patient@example.test");
    assert!(
        failed[0].2.as_deref().is_some_and(|e| !e.is_empty()),
        "reason kept"
    );

    // The server comes back; the retry (time moved forward) delivers it.
    let sink = SmtpSink::start_on(addr).await;
    let later = sesame::app::now() + 3600;
    let sent = sesame::mail::deliver_due(&server.app.store, &server.app.mailer, later)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    assert!(
        queue(&server).await.is_empty(),
        "delivered mails leave the queue"
    );
    let mail = sink.nth(1).await;
    assert_eq!(mail.subject(), "Espace Citoyens - Création de votre compte");
    let opened = b.get(verify_link(&server, &mail)).send().await.unwrap();
    assert_eq!(opened.status(), 200, "the queued link works");
}

#[tokio::test]
async fn outbox_transport_writes_one_eml_file_per_mail() {
    let server = TestServer::start().await;
    submit_signup(
        &server,
        &browser(),
        None,
        citizen("newcomer@example.test", &[]),
    )
    .await;
    let outbox = server.dir.path().join("data/outbox");
    let mut waited = 0;
    let file = loop {
        // Only whole mails carry the `.eml` name (they are renamed into place).
        let found = std::fs::read_dir(&outbox).ok().and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "eml"))
        });
        if let Some(path) = found {
            break path;
        }
        waited += 1;
        assert!(waited < 100, "no .eml in {}", outbox.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // A mail holds a live link: only the service account may read it.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600, "outbox mail");
    assert_eq!(mode(&outbox), 0o700, "outbox folder");
    let raw = std::fs::read(&file).unwrap();
    let mail = crate::mailbox::Received {
        from: String::new(),
        to: Vec::new(),
        data: raw,
    };
    assert_eq!(mail.subject(), "Espace Citoyens - Création de votre compte");
    assert!(mail.text().contains(&server.url("/verify?token=")));
    assert!(mail.html().contains("Activer mon compte"));
    let parsed = mail.parsed();
    assert!(parsed.date().is_some() && parsed.message_id().is_some());
}

#[tokio::test]
async fn mails_are_in_the_citizens_language() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(&sink.config()).await;
    let b = browser();
    b.get(server.url("/signup?lang=en")).send().await.unwrap();
    submit_signup(&server, &b, None, citizen("english@example.test", &[])).await;
    let mail = sink.nth(1).await;
    assert_eq!(mail.subject(), "Espace Citoyens - Your new account");
    let text = mail.text();
    assert!(
        text.contains("This link will expire in 5 minutes."),
        "{text}"
    );
    assert!(text.contains("If you did not make this request, please ignore this email."));
}
