//! « Mot de passe » of the citizen's own space: a change with the current
//! password and the sign-up policy (every rule named), then everything
//! the old password gave ended ([`password_changed`]) but the session the
//! change was made in, which stays signed in and becomes fresh.

use std::sync::Arc;

use super::audit::{self, Origin};
use super::password::Hasher;
use super::password_change::{Ended, PasswordChange, password_changed};
use super::policy::Personal;
use super::profile::Problem;
use super::reauth::{self, Reentered};
use super::sessions::Session;
use super::signup::password_problems;
use crate::config::{Clients, LoginLimits, PolicyConfig};
use crate::i18n::Lang;
use crate::mail::Mailer;
use crate::store::{self, Store, sessions, users};

/// The form, as typed.
pub struct PasswordForm {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// What a change came to.
#[derive(Debug)]
pub enum Changed {
    Done(Ended),
    /// Wrong current password, a new one the policy refuses, or a
    /// mismatched confirmation: nothing was changed.
    Invalid(Vec<Problem>),
    /// Too many wrong passwords lately (the sign-in throttle): the current
    /// password was not looked at; nothing was changed.
    Throttled {
        retry_after: i64,
    },
}

/// What a password change needs besides the form.
pub struct Context<'a> {
    pub store: &'a Store,
    pub hasher: &'a Hasher,
    pub mailer: Arc<Mailer>,
    pub clients: Arc<Clients>,
    pub policy: &'a PolicyConfig,
    pub lang: Lang,
    /// The absolute URL of « Mot de passe oublié ? », for the notice.
    pub forgot_url: String,
    /// Where the request came from, for the audit trail and the
    /// throttle (the current password counts like a sign-in).
    pub origin: Origin,
    pub limits: LoginLimits,
}

/// Changes the password of `session`'s citizen.
pub async fn change(
    ctx: Context<'_>,
    session: &Session,
    form: PasswordForm,
    now: i64,
) -> Result<Changed, store::Error> {
    let attempt = reauth::Attempt {
        limits: ctx.limits,
        origin: ctx.origin.clone(),
    };
    let current = form.current;
    match reauth::check_password(ctx.store, ctx.hasher, &session.sub, current, &attempt, now)
        .await?
    {
        Reentered::Right => {}
        Reentered::Throttled { retry_after } => return Ok(Changed::Throttled { retry_after }),
        Reentered::Wrong => {
            return Ok(Changed::Invalid(vec![Problem::on(
                "current_password",
                "password_current_wrong",
            )]));
        }
    }
    let owner = session.sub.clone();
    let Some(user) = ctx.store.run(move |tx| users::by_sub(tx, &owner)).await? else {
        return Ok(Changed::Invalid(vec![Problem::on(
            "current_password",
            "password_current_wrong",
        )]));
    };
    let problems = policy_problems(ctx.policy.clone(), user, form.new.clone(), form.confirm)
        .await
        .map_err(store::Error::Internal)?;
    if !problems.is_empty() {
        return Ok(Changed::Invalid(problems));
    }
    let hash = ctx
        .hasher
        .hash(form.new)
        .await
        .map_err(store::Error::Internal)?;
    let (sub, sid, lang, forgot_url) = (
        session.sub.clone(),
        session.sid.clone(),
        ctx.lang,
        ctx.forgot_url,
    );
    let (mailer, clients, origin) = (ctx.mailer, ctx.clients, ctx.origin);
    let ended = ctx
        .store
        .run(move |tx| {
            let tx = tx.savepoint()?;
            users::set_password_hash(&tx, &sub, &hash, now)?;
            sessions::set_auth_time(&tx, &sid, now)?;
            let change = PasswordChange {
                sub: &sub,
                keep_sid: Some(&sid),
                lang,
                forgot_url: &forgot_url,
            };
            let ended = password_changed(&tx, &mailer, &clients, &change, now)?;
            let kind = audit::Kind::PasswordChanged;
            audit::record(
                &tx,
                kind,
                Some(&sub),
                None,
                &origin,
                Some("account page"),
                now,
            )?;
            tx.commit()?;
            Ok(ended)
        })
        .await?;
    Ok(Changed::Done(ended))
}

/// The sign-up policy and the confirmation, off the executor (zxcvbn).
async fn policy_problems(
    policy: PolicyConfig,
    user: users::User,
    new: String,
    confirm: String,
) -> Result<Vec<Problem>, String> {
    tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        if new.is_empty() {
            problems.push(Problem::on("password", "required_field"));
        } else {
            let names = [user.family_name.as_deref(), user.given_name.as_deref()];
            let personal = Personal {
                email: &user.email,
                names: names.into_iter().flatten().collect(),
            };
            problems.extend(
                password_problems(&policy, &new, &personal)
                    .into_iter()
                    .map(|p| Problem {
                        field: "password",
                        key: p.key,
                        figure: p.figure,
                    }),
            );
        }
        if confirm != new {
            let key = if confirm.is_empty() {
                "required_field"
            } else {
                "password_mismatch"
            };
            problems.push(Problem::on("password_confirm", key));
        }
        problems
    })
    .await
    .map_err(|e| e.to_string())
}
