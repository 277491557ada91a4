//! `/account/security`: the password change (with the current password
//! and the sign-up policy; other sessions end, a notice mail is sent), the
//! second factor's state with a link to its own pages, and the account's
//! recent security events.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;

use super::sessions::when;
use super::{
    Answer, Errors, PageTemplate, Posted, SignedIn, Visit, done, done_notice, form_status, render,
    throttled_problem, too_many,
};
use crate::accounts::own_password::{self, Changed, Context, PasswordForm};
use crate::accounts::profile::Problem;
use crate::accounts::{audit, devices, totp};
use crate::app::{App, AppState};
use crate::http::error::Internal;
use crate::http::forms::{Notice, Origin, Strength, password_hint, strength};
use crate::http::paths;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_SECURITY, get(show))
        .route(paths::ACCOUNT_PASSWORD, post(change_password))
}

#[derive(Serialize)]
struct SecurityPage {
    password_action: &'static str,
    password_hint: String,
    strength: Strength,
    errors: Errors,
    /// Whether a second factor is on (managed under `totp_href`).
    second_factor: bool,
    totp_href: &'static str,
    events: Vec<Event>,
}

/// One line of the security events table.
#[derive(Serialize)]
struct Event {
    when: String,
    what: String,
    ip: String,
    browser: String,
}

impl PageTemplate for SecurityPage {
    fn template(&self) -> &'static str {
        "account/security.html"
    }
}

/// The citizen's most recent security events, in words, and whether the
/// second factor is on.
async fn events(app: &App, visit: &Visit) -> Result<(Vec<Event>, bool), Internal> {
    let sub = visit.session.sub.clone();
    let (recorded, on) = app
        .store
        .run(move |tx| {
            let on = totp::status(tx, &sub)?.since.is_some();
            Ok((audit::recent(tx, &sub, 20)?, on))
        })
        .await?;
    let lang = visit.lang;
    let events = recorded
        .into_iter()
        .map(|e| Event {
            when: when(lang, e.at),
            what: app.pages.text(lang, event_key(&e.kind)),
            ip: e.address.unwrap_or_default(),
            browser: e
                .user_agent
                .as_deref()
                .and_then(devices::family)
                .map(|(b, s)| format!("{b} — {s}"))
                .unwrap_or_default(),
        })
        .collect();
    Ok((events, on))
}

/// The catalogue key of an audit event's kind.
fn event_key(kind: &str) -> &'static str {
    match kind {
        "sign_in.succeeded" => "event_sign_in_succeeded",
        "sign_in.failed" => "event_sign_in_failed",
        "sign_in.throttled" => "event_sign_in_throttled",
        "password.changed" => "event_password_changed",
        "password.reset" => "event_password_reset",
        "email.verified" => "event_email_verified",
        "email.changed" => "event_email_changed",
        "consent.given" => "event_consent_given",
        "consent.withdrawn" => "event_consent_withdrawn",
        k if k.starts_with("second_factor") => "event_second_factor",
        _ => "event_other",
    }
}

fn page(
    app: &App,
    visit: Visit,
    problems: &[Problem],
    notice: Option<Notice>,
    (events, second_factor): (Vec<Event>, bool),
) -> Response {
    let status = form_status(problems, StatusCode::UNPROCESSABLE_ENTITY);
    let page = SecurityPage {
        password_action: paths::ACCOUNT_PASSWORD,
        password_hint: password_hint(app, visit.lang),
        strength: strength(app, visit.lang),
        errors: Errors::of(app, visit.lang, problems),
        second_factor,
        totp_href: paths::ACCOUNT_TOTP,
        events,
    };
    render(app, visit, status, paths::ACCOUNT_SECURITY, notice, page)
}

async fn show(State(app): State<AppState>, SignedIn(visit, params): SignedIn) -> Answer {
    let notice = done_notice(&app, visit.lang, &params);
    let events = events(&app, &visit).await?;
    Ok(page(&app, visit, &[], notice, events))
}

fn password_form(params: &Params) -> PasswordForm {
    let f = |k| params.first(k).unwrap_or_default().to_owned();
    PasswordForm {
        current: f("current_password"),
        new: f("password"),
        confirm: f("password_confirm"),
    }
}

/// What the password change needs of the server and of this request.
fn context<'a>(app: &'a App, visit: &Visit, origin: audit::Origin) -> Context<'a> {
    Context {
        store: &app.store,
        hasher: &app.hasher,
        mailer: app.mailer.clone(),
        clients: app.clients(),
        policy: &app.config.policy,
        lang: visit.lang,
        forgot_url: format!("{}{}", app.config.issuer, paths::FORGOT),
        origin,
        limits: app.config.policy.login_limits,
    }
}

async fn change_password(
    State(app): State<AppState>,
    Origin(origin): Origin,
    posted: Posted,
) -> Answer {
    let back = paths::ACCOUNT_SECURITY;
    let (visit, params) = posted.checked(&app, back).await?;
    let (form, ctx) = (password_form(&params), context(&app, &visit, origin));
    match own_password::change(ctx, &visit.session, form, app.now()).await? {
        Changed::Done(ended) => {
            tracing::info!(sessions_ended = ended.sessions, "password changed");
            app.backchannel.wake();
            app.mailer.queued();
            Ok(done(back, "password"))
        }
        Changed::Invalid(problems) => {
            let events = events(&app, &visit).await?;
            Ok(page(&app, visit, &problems, None, events))
        }
        Changed::Throttled { retry_after } => {
            let events = events(&app, &visit).await?;
            let problems = [throttled_problem("current_password", retry_after)];
            let page = page(&app, visit, &problems, None, events);
            Ok(too_many(page, retry_after))
        }
    }
}
