//! `sesame user list|show|disable|enable|delete|reset-2fa [--email E]`: the city's
//! help desk looks a citizen up and acts on the account. Each command is
//! recorded in the audit trail with the operator's login name; the rules
//! (what disabling ends, what deletion erases) are `accounts::admin`'s.

use crate::accounts::admin::{self, DeletedBy};
use crate::accounts::audit::{self, Kind, Origin};
use crate::accounts::legacy_hash::{self, Family};
use crate::accounts::totp::{self, Notices};
use crate::i18n::Lang;
use crate::mail::Mailer;
use crate::store::{self, Tx, users};
use crate::{app, config::Config};

use super::instance::Instance;
use super::time_text;

/// Which verb.
#[derive(Clone, Copy)]
pub(super) enum Verb {
    List,
    Show,
    Disable,
    Enable,
    Delete,
    Reset2fa,
}

/// The pages a notice mail links to, under the issuer: « Mot de passe
/// oublié ? » and « Mon compte » (paths the HTTP layer defines).
pub(crate) struct MailPaths {
    pub forgot: &'static str,
    pub account: &'static str,
}

pub(super) fn run(
    verb: Verb,
    config: Option<&std::path::Path>,
    email: Option<&str>,
    mail_paths: &MailPaths,
) -> Result<(), String> {
    let instance = Instance::open(config)?;
    instance.require_existing()?;
    let config = &instance.config;
    let db = store::open_for_cli(&config.database).map_err(|e| e.to_string())?;
    let tx = db.tx();
    let now = app::now();
    let origin = Origin::default();
    if let (Verb::List, None) = (verb, email) {
        let all = users::all(&tx).map_err(|e| e.to_string())?;
        print_table(&all);
        let detail = operator("user list");
        audit::record(&tx, Kind::Admin, None, None, &origin, Some(&detail), now)
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    let email = email.ok_or("--email is required for this command")?;
    let user = users::by_email(&tx, email)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account with {email}"))?;
    let sub = user.sub.as_str();
    match verb {
        Verb::List => print_table(std::slice::from_ref(&user)),
        Verb::Show => {
            show(&user);
            let factor = totp::status(&tx, sub).map_err(|e| e.to_string())?;
            let state = match factor.since {
                Some(at) => format!(
                    "on since {} ({} recovery codes left)",
                    time_text(at),
                    factor.codes_left
                ),
                None => "off".to_owned(),
            };
            println!("second_factor: {state}");
        }
        Verb::Disable => {
            let ended = admin::disable(&tx, &clients(config)?, sub, &origin, now)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account with {email}"))?;
            println!(
                "disabled {email} (sub {sub}): {} session(s) ended, {} grant(s) revoked",
                ended.sessions, ended.grants
            );
        }
        Verb::Enable => {
            admin::enable(&tx, sub, &origin, now).map_err(|e| e.to_string())?;
            println!("enabled {email} (sub {sub})");
        }
        Verb::Reset2fa => {
            let detail = operator("user reset-2fa");
            let notices = notices(config, mail_paths)?;
            let removed = totp::reset(&tx, sub, &origin, &detail, &notices, now)
                .map_err(|e| e.to_string())?;
            if removed {
                println!(
                    "second factor removed for {email} (sub {sub}): the next sign-in needs the password only; \
                     a notice to {email} is queued (the running server sends it)"
                );
            } else {
                println!("{email} (sub {sub}) has no second factor: nothing to do");
            }
        }
        Verb::Delete => {
            let ended =
                admin::delete_account(&tx, &clients(config)?, sub, DeletedBy::Staff, &origin, now)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no account with {email}"))?;
            println!(
                "deleted {email} (sub {sub}, never given again): {} session(s) ended, {} grant(s) revoked, back-channel logout queued for: {}",
                ended.sessions,
                ended.grants,
                if ended.notified.is_empty() {
                    "none".into()
                } else {
                    ended.notified.join(", ")
                }
            );
        }
    }
    if matches!(verb, Verb::List | Verb::Show) {
        record_read(&tx, verb, sub, &origin, now)?;
    }
    Ok(())
}

/// The notices of a change to the second factor, composed here in the
/// city's language (or the citizen's own) and queued for the server.
fn notices(config: &Config, paths: &MailPaths) -> Result<Notices, String> {
    let mailer = Mailer::composer(&config.mail)?;
    mailer.set_account_url(format!("{}{}", config.issuer, paths.account));
    Ok(Notices {
        mailer: std::sync::Arc::new(mailer),
        forgot_url: format!("{}{}", config.issuer, paths.forgot),
        lang: Lang::Fr,
    })
}

/// Looking at a citizen's data is recorded too (who consulted what).
fn record_read(
    tx: &Tx<'_>,
    verb: Verb,
    sub: &str,
    origin: &Origin,
    now: i64,
) -> Result<(), String> {
    let detail = operator(if matches!(verb, Verb::Show) {
        "user show"
    } else {
        "user list"
    });
    audit::record(tx, Kind::Admin, Some(sub), None, origin, Some(&detail), now)
        .map_err(|e| e.to_string())
}

/// `user disable (by alice)`: the command and the operator's login name.
pub(super) fn operator(command: &str) -> String {
    let who = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    match who {
        Some(who) => format!("{command} (by {who})"),
        None => command.to_owned(),
    }
}

/// The instance's clients, for the back-channel logouts of a disabled or
/// deleted account.
fn clients(config: &Config) -> Result<crate::config::Clients, String> {
    config.load_clients().map_err(|e| e.to_string())
}

fn state(user: &users::User) -> &'static str {
    match (user.disabled_at, user.email_verified) {
        (Some(_), _) => "disabled",
        (None, true) => "active",
        (None, false) => "unverified",
    }
}

fn print_table(all: &[users::User]) {
    println!("{:<26} {:<40} {:<11} CREATED", "SUB", "EMAIL", "STATE");
    for user in all {
        println!(
            "{:<26} {:<40} {:<11} {}",
            user.sub,
            user.email,
            state(user),
            time_text(user.created_at)
        );
    }
    println!("{} citizen(s)", all.len());
}

fn show(user: &users::User) {
    let hash = match legacy_hash::family(&user.password_hash) {
        Some(Family::Argon2) => "argon2",
        Some(Family::Bcrypt) => "bcrypt (imported; argon2id at the next sign-in)",
        Some(Family::Pbkdf2Sha256) => "pbkdf2-sha256 (imported; argon2id at the next sign-in)",
        None => "unknown",
    };
    let fields = [
        ("sub", Some(user.sub.clone())),
        ("email", Some(user.email.clone())),
        ("email_verified", Some(user.email_verified.to_string())),
        ("state", Some(state(user).to_owned())),
        ("disabled_at", user.disabled_at.map(time_text)),
        ("password", Some(hash.to_owned())),
        ("gender", user.gender.clone()),
        ("given_name", user.given_name.clone()),
        ("family_name", user.family_name.clone()),
        ("preferred_username", user.preferred_username.clone()),
        ("birthdate", user.birthdate.clone()),
        ("phone_number", user.phone_number.clone()),
        ("street_address", user.street_address.clone()),
        ("postal_code", user.postal_code.clone()),
        ("locality", user.locality.clone()),
        ("country", user.country.clone()),
        ("roles", Some(user.roles.join(", "))),
        ("created_at", Some(time_text(user.created_at))),
        ("updated_at", Some(time_text(user.updated_at))),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            println!("{name}: {value}");
        }
    }
}
