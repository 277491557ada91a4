//! Mail (DESIGN §2): messages composed from templates in the citizen's
//! language (multipart text + HTML, `From`, `Date`, `Message-ID`), kept in
//! the durable `mail_queue` and delivered by a background worker through
//! the configured transport: `outbox` (one `.eml` file per mail; the link
//! is logged so a newcomer needs no mail server) or `smtp` (lettre, async,
//! STARTTLS or implicit TLS). A failed delivery is retried with backoff;
//! the reason is logged, never the link.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use tokio::sync::{Mutex, Notify};

use crate::config::{MailConfig, MailTransport};
use crate::i18n::{Catalogues, Lang};
use crate::store::{self, Store, mail_queue};

/// The mail templates, embedded at build time.
const TEMPLATES: &[(&str, &str)] = &[
    ("letter.txt", include_str!("../templates/mail/letter.txt")),
    ("letter.html", include_str!("../templates/mail/letter.html")),
];

/// Mails whose delivery still fails after this long are dropped (their
/// links expired long before; the citizen can ask for a new one).
const GIVE_UP_AFTER_SECONDS: i64 = 3 * 86_400;

/// What a mail is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// « Espace Citoyens - Création de votre compte »: the activation link.
    Verify,
    /// A sign-up with an address that already has an account: a reset link.
    Exists,
    /// « Mot de passe oublié ? »: the reset link.
    Reset,
    /// « Votre mot de passe a été modifié »: a notice after any password
    /// change; its link leads to « Mot de passe oublié ? » in case the
    /// change was not the citizen's own (it expires with nothing).
    PasswordChanged,
    /// « Confirmez votre nouvelle adresse »: the link, sent to the new
    /// address, that makes an address change take effect.
    EmailChange,
    /// To the old address when a change is asked: its link is « Ce n'était
    /// pas moi » (it cancels the change).
    EmailChangeNotice,
    /// The last mail, after the citizen deleted their account.
    AccountDeleted,
    /// « La validation en deux étapes est activée »; like every notice of
    /// the second factor, its link is « Mot de passe oublié ? » in case it
    /// was not the citizen's doing.
    SecondFactorOn,
    /// « La validation en deux étapes est désactivée ».
    SecondFactorOff,
    /// « Un code de secours a été utilisé ».
    RecoveryCodeUsed,
    /// « Validation en deux étapes retirée par l'assistance »: the help
    /// desk's `sesame user reset-2fa`.
    SecondFactorReset,
}

impl Kind {
    fn keys(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Verify => (
                "mail_verify_subject",
                "mail_verify_intro",
                "mail_verify_action",
                "mail_verify_link",
            ),
            Kind::Exists => (
                "mail_exists_subject",
                "mail_exists_intro",
                "mail_exists_action",
                "mail_reset_link",
            ),
            Kind::Reset => (
                "mail_reset_subject",
                "mail_reset_intro",
                "mail_reset_action",
                "mail_reset_link",
            ),
            Kind::PasswordChanged => (
                "mail_changed_subject",
                "mail_changed_intro",
                "mail_changed_action",
                "mail_changed_link",
            ),
            Kind::EmailChange => (
                "mail_email_change_subject",
                "mail_email_change_intro",
                "mail_email_change_action",
                "mail_email_change_link",
            ),
            Kind::EmailChangeNotice => (
                "mail_email_notice_subject",
                "mail_email_notice_intro",
                "mail_email_notice_action",
                "mail_email_notice_link",
            ),
            Kind::AccountDeleted => (
                "mail_deleted_subject",
                "mail_deleted_intro",
                "mail_deleted_action",
                "mail_deleted_link",
            ),
            Kind::SecondFactorOn => (
                "mail_totp_on_subject",
                "mail_totp_on_intro",
                "mail_totp_action",
                "mail_changed_link",
            ),
            Kind::SecondFactorOff => (
                "mail_totp_off_subject",
                "mail_totp_off_intro",
                "mail_totp_action",
                "mail_changed_link",
            ),
            Kind::RecoveryCodeUsed => (
                "mail_recovery_used_subject",
                "mail_recovery_used_intro",
                "mail_totp_action",
                "mail_changed_link",
            ),
            Kind::SecondFactorReset => (
                "mail_totp_reset_subject",
                "mail_totp_reset_intro",
                "mail_totp_action",
                "mail_changed_link",
            ),
        }
    }

    /// A notice carries no link that expires, and was not asked for.
    fn is_notice(self) -> bool {
        matches!(
            self,
            Kind::PasswordChanged
                | Kind::EmailChangeNotice
                | Kind::AccountDeleted
                | Kind::SecondFactorOn
                | Kind::SecondFactorOff
                | Kind::RecoveryCodeUsed
                | Kind::SecondFactorReset
        )
    }
}

/// One mail to compose.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    pub kind: Kind,
    pub to: &'a str,
    pub lang: Lang,
    pub link: &'a str,
    pub ttl_seconds: i64,
}

/// A composed mail, ready for the queue.
#[derive(Debug, Clone)]
pub struct Composed {
    pub sender: String,
    pub recipient: String,
    pub message: Vec<u8>,
}

enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    env: Environment<'static>,
    catalogues: Catalogues,
    wake: Notify,
    /// One delivery pass at a time, so a mail is never sent twice.
    pass: Mutex<()>,
    /// « Mon compte », linked from every mail (set once the server knows
    /// where it serves it).
    account_url: OnceLock<String>,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer, String> {
        let from: Mailbox = config.from.parse().map_err(|e| format!("mail.from: {e}"))?;
        let transport = match &config.transport {
            MailTransport::Outbox => Transport::Outbox(config.outbox_dir.clone()),
            MailTransport::Smtp {
                url,
                username,
                password,
            } => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("mail.smtp_url: {e}"))?
                    .timeout(Some(Duration::from_secs(20)));
                if let (Some(user), Some(password)) = (username, password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Transport::Smtp(builder.build())
            }
        };
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("templates/mail/{name}: {e}"))?;
        }
        Ok(Mailer {
            from,
            transport,
            env,
            catalogues: Catalogues::load()?,
            wake: Notify::new(),
            pass: Mutex::new(()),
            account_url: OnceLock::new(),
        })
    }

    /// A mailer that composes for the queue only, for the one-off commands
    /// (off the async runtime, which SMTP's connection pool needs): the
    /// running server's worker delivers what they queue, through its own
    /// transport.
    pub fn composer(config: &MailConfig) -> Result<Mailer, String> {
        Mailer::new(&MailConfig {
            transport: MailTransport::Outbox,
            ..config.clone()
        })
    }

    /// Where « Mon compte » is, for the footer of every mail (the first
    /// call wins).
    pub fn set_account_url(&self, url: String) {
        let _ = self.account_url.set(url);
    }

    /// Whether links may be logged (the outbox transport, for newcomers).
    pub fn logs_links(&self) -> bool {
        matches!(self.transport, Transport::Outbox(_))
    }

    /// Composes `letter` from the templates in its language.
    pub fn compose(&self, letter: &Letter<'_>) -> Result<Composed, String> {
        let to: Address = letter
            .to
            .parse()
            .map_err(|e| format!("recipient address: {e}"))?;
        let t = |key| self.catalogues.text(letter.lang, key).to_owned();
        let (subject, intro, action, link_label) = letter.kind.keys();
        let subject = t(subject);
        let expiry = if letter.kind.is_notice() {
            String::new()
        } else {
            t("mail_expiry").replace(
                "{duration}",
                &duration_text(letter.lang, letter.ttl_seconds),
            )
        };
        let ctx = context! {
            t => Value::from(Serde(self.catalogues.get(letter.lang))),
            lang => letter.lang.code(),
            subject => &subject,
            intro => t(intro),
            action => t(action),
            link_label => t(link_label),
            link => letter.link,
            expiry => expiry,
            notice => letter.kind.is_notice(),
            // The last mail of a deleted account has no account to manage.
            account_url => self.account_url.get().filter(|_| letter.kind != Kind::AccountDeleted),
        };
        let render = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|tpl| tpl.render(&ctx))
                .map_err(|e| format!("templates/mail/{name}: {e}"))
        };
        let (text, html) = (render("letter.txt")?, render("letter.html")?);
        let domain = self.from.email.domain().to_owned();
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.clone()))
            .subject(subject)
            .date_now()
            .message_id(Some(format!(
                "<{}@{domain}>",
                crate::secrets::random_b64(18)
            )))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("composing the mail: {e}"))?;
        Ok(Composed {
            sender: self.from.email.to_string(),
            recipient: to.to_string(),
            message: message.formatted(),
        })
    }

    /// Tells the worker a mail was queued.
    pub fn queued(&self) {
        self.wake.notify_one();
    }

    async fn deliver(&self, mail: &mail_queue::Queued) -> Result<(), String> {
        match &self.transport {
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("outbox {}: {e}", dir.display()))?;
                let path = dir.join(format!("{}-{}.eml", mail.created_at, mail.id));
                write_private(dir, &path, &mail.message)
                    .await
                    .map_err(|e| format!("outbox {}: {e}", path.display()))
            }
            Transport::Smtp(smtp) => {
                let sender: Address = mail.sender.parse().map_err(|e| format!("sender: {e}"))?;
                let recipient: Address = mail
                    .recipient
                    .parse()
                    .map_err(|e| format!("recipient: {e}"))?;
                let envelope = Envelope::new(Some(sender), vec![recipient])
                    .map_err(|e| format!("envelope: {e}"))?;
                smtp.send_raw(&envelope, &mail.message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// « 5 minutes », « 30 secondes », « 2 heures »: the link's lifetime as
/// the mail says it.
fn duration_text(lang: Lang, seconds: i64) -> String {
    let (n, unit) = if seconds < 60 {
        (seconds.max(1), 0)
    } else if seconds % 3600 == 0 {
        (seconds / 3600, 2)
    } else {
        ((seconds + 59) / 60, 1)
    };
    let plural = n > 1;
    let word = match (lang, unit, plural) {
        (Lang::Fr, 0, false) => "seconde",
        (Lang::Fr, 0, true) => "secondes",
        (Lang::Fr, 1, _) | (Lang::En, 1, false) => "minute",
        (Lang::Fr, _, false) => "heure",
        (Lang::Fr, _, true) => "heures",
        (Lang::En, 0, false) => "second",
        (Lang::En, 0, true) => "seconds",
        (Lang::En, 1, true) => "minutes",
        (Lang::En, _, false) => "hour",
        (Lang::En, _, true) => "hours",
    };
    let word = if lang == Lang::Fr && unit == 1 && plural {
        "minutes"
    } else {
        word
    };
    format!("{n} {word}")
}

/// Seconds before the next attempt after `attempts` failures: 15 s,
/// 30 s, 1 min… up to 30 min.
pub fn backoff(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 8) - 1;
    (15_i64 << exponent).min(1800)
}

/// How long a mail taken for delivery is hidden from other workers (the
/// other nodes'): longer than one pass of 20 deliveries takes, so a mail is
/// sent once; if the node dies meanwhile, another sends it after.
const LEASE_SECONDS: i64 = 300;

/// Delivers every mail due at `now`; returns how many went out. Failures
/// are counted, logged with their reason and rescheduled.
pub async fn deliver_due(store: &Store, mailer: &Mailer, now: i64) -> Result<usize, store::Error> {
    let _pass = mailer.pass.lock().await;
    let dropped = store
        .run(move |conn| mail_queue::purge(conn, now - GIVE_UP_AFTER_SECONDS))
        .await?;
    if dropped > 0 {
        tracing::error!(
            dropped,
            "undeliverable mails dropped after 3 days of retries"
        );
    }
    let due = store
        .run(move |conn| mail_queue::lease_due(conn, now, now + LEASE_SECONDS, 20))
        .await?;
    let mut sent = 0;
    for mail in due {
        let id = mail.id;
        match mailer.deliver(&mail).await {
            Ok(()) => {
                store.run(move |conn| mail_queue::delete(conn, id)).await?;
                tracing::info!(mail = id, "mail delivered");
                crate::metrics::mail("sent");
                sent += 1;
            }
            Err(reason) => {
                crate::metrics::mail("failed");
                let attempts = mail.attempts + 1;
                let next = now + backoff(attempts);
                tracing::warn!(
                    mail = id,
                    attempts,
                    retry_in_seconds = next - now,
                    error = %reason,
                    "mail delivery failed; it stays queued"
                );
                store
                    .run(move |conn| mail_queue::failed(conn, id, &reason, next))
                    .await?;
            }
        }
    }
    Ok(sent)
}

/// The worker: delivers what is due whenever a mail is queued, and every
/// few seconds for retries.
pub fn spawn_worker(store: Store, mailer: Arc<Mailer>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_due(&store, &mailer, crate::app::now()).await {
                tracing::warn!(error = %e, "mail queue unavailable");
            }
            tokio::select! {
                _ = mailer.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    });
}

/// Writes an outbox mail readable by the service account only: it holds a
/// live sign-up or reset link (`private_files`). The bytes go to a hidden
/// `.part` file renamed into place, so whoever watches the folder for
/// `.eml` files never opens one half-written.
async fn write_private(
    dir: &std::path::Path,
    path: &std::path::Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::Permissions::from_mode(crate::private_files::DIR_MODE);
        tokio::fs::set_permissions(dir, private).await?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(crate::private_files::FILE_MODE);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let part = dir.join(format!(".{name}.part"));
    let mut file = options.open(&part).await?;
    file.write_all(bytes).await?;
    file.flush().await?;
    drop(file);
    tokio::fs::rename(&part, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer() -> Mailer {
        Mailer::new(&MailConfig {
            transport: MailTransport::Outbox,
            from: "Espace Citoyens <nepasrepondre@example.org>".into(),
            outbox_dir: "unused".into(),
        })
        .unwrap()
    }

    #[test]
    fn durations_follow_the_setting() {
        assert_eq!(duration_text(Lang::Fr, 300), "5 minutes");
        assert_eq!(duration_text(Lang::Fr, 60), "1 minute");
        assert_eq!(duration_text(Lang::Fr, 90), "2 minutes");
        assert_eq!(duration_text(Lang::Fr, 30), "30 secondes");
        assert_eq!(duration_text(Lang::Fr, 7200), "2 heures");
        assert_eq!(duration_text(Lang::En, 300), "5 minutes");
        assert_eq!(duration_text(Lang::En, 3600), "1 hour");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), 15);
        assert_eq!(backoff(2), 30);
        assert_eq!(backoff(3), 60);
        assert_eq!(backoff(50), 1800);
    }

    #[test]
    fn every_kind_composes_in_both_languages() {
        let m = mailer();
        for kind in [
            Kind::Verify,
            Kind::Exists,
            Kind::Reset,
            Kind::PasswordChanged,
            Kind::SecondFactorReset,
        ] {
            for lang in Lang::ALL {
                let mail = m
                    .compose(&Letter {
                        kind,
                        to: "nathalie@example.test",
                        lang,
                        link: "https://id.example.org/verify?token=abc",
                        ttl_seconds: 300,
                    })
                    .unwrap();
                let text = String::from_utf8_lossy(&mail.message);
                assert!(
                    text.contains("From: \"Espace Citoyens\" <nepasrepondre@example.org>"),
                    "{text}"
                );
                assert!(text.contains("Message-ID: <") && text.contains("@example.org>"));
                assert!(text.contains("Date: "));
                assert!(text.contains("multipart/alternative"));
                assert_eq!(mail.recipient, "nathalie@example.test");
                assert_eq!(mail.sender, "nepasrepondre@example.org");
            }
        }
    }
}
