//! « Mot de passe oublié ? » (DESIGN §1.3): the address form (the same
//! answer for a known and an unknown address), the reset link's form (new
//! password with the policy and its confirmation), then every session of
//! the account ended and the citizen signed in here, resuming the pending
//! authorization request if there was one.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::Internal;
use super::forms::{self, Button, FormState, MessagePage, Notice, Values, Visit};
use super::pages::Render;
use super::verify::dead_link;
use super::{csrf, flow, lang, paths, session};
use crate::accounts::User;
use crate::accounts::links;
use crate::accounts::links::EmailToken;
use crate::accounts::signup::{Field, Problem, new_password_problems};
use crate::accounts::users::Email;
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::FORGOT, get(forgot_form).post(forgot_submit))
        .route(paths::RESET, get(reset_form).post(reset_submit))
}

#[derive(Serialize)]
struct ForgotPage {
    action: &'static str,
    csrf: String,
    interaction: String,
    error: Option<String>,
    form: FormState,
    login_href: String,
}

#[derive(Serialize)]
struct ResetPage {
    action: &'static str,
    csrf: String,
    token: String,
    error: Option<String>,
    form: FormState,
}

async fn forgot_form(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    Ok(
        match forms::visit(&app, jar, &headers, &params, true).await? {
            Ok(visit) => render_forgot(&app, visit, String::new(), &[], None, StatusCode::OK),
            Err(expired) => expired,
        },
    )
}

async fn forgot_submit(
    State(app): State<AppState>,
    peer: forms::ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let visit = match forms::visit(&app, jar, &headers, &form, false).await? {
        Ok(visit) => visit,
        Err(expired) => return Ok(expired),
    };
    let typed = form.first("email").unwrap_or_default().trim().to_owned();
    if !csrf::verify(&app, &visit.jar, form.first(csrf::FIELD)) {
        let error = Some(app.pages.text(visit.lang, "csrf_failed"));
        let status = StatusCode::BAD_REQUEST;
        return Ok(render_forgot(&app, visit, typed, &[], error, status));
    }
    let Some(email) = Email::parse(&typed) else {
        let problems = [email_problem(&typed)];
        return Ok(render_forgot(
            &app,
            visit,
            typed,
            &problems,
            None,
            StatusCode::OK,
        ));
    };
    // The link resumes this request only if it is opened in this browser.
    let (jar, browser) = forms::browser_cookie(visit.jar, app.config.https());
    let visit = Visit { jar, ..visit };
    let ctx = forms::mail_context(&app, peer, visit.lang, visit.interaction(), Some(browser));
    let (now, a) = (app.now(), app.clone());
    let result = app
        .store
        .run(move |tx| links::forgot(tx, &a.mailer, email.as_str(), &ctx, now))
        .await?;
    Ok(forgot_answer(&app, visit, typed, result))
}

/// « Si un compte existe… », or the limit that kept the mail back.
fn forgot_answer(
    app: &App,
    visit: Visit,
    typed: String,
    result: Result<Option<String>, links::Limit>,
) -> Response {
    match result {
        Ok(link) => {
            forms::queued(app, link.as_deref());
            forgot_sent(app, visit, &typed)
        }
        Err(limit) => {
            let error = Some(forms::limit_message(app, visit.lang, limit));
            let status = StatusCode::TOO_MANY_REQUESTS;
            render_forgot(app, visit, typed, &[], error, status)
        }
    }
}

/// An address that cannot be one: missing, or not an address.
fn email_problem(typed: &str) -> Problem {
    let key = if typed.is_empty() {
        "required_field"
    } else {
        "signup_email_invalid"
    };
    Problem {
        field: Field::Email,
        key,
        figure: None,
    }
}

/// « Si un compte existe pour cette adresse… »: the same page for every
/// address, with a button to send the mail again.
fn forgot_sent(app: &App, visit: Visit, email: &str) -> Response {
    let t = |k| app.pages.text(visit.lang, k);
    let page = MessagePage {
        title: t("forgot_sent_title"),
        paragraphs: vec![t("forgot_sent_text")],
        button: Some(Button {
            action: paths::FORGOT,
            fields: vec![
                ("email", email.to_owned()),
                ("interaction", visit.interaction().unwrap_or_default()),
            ],
            question: Some(t("check_email_question")),
            label: t("forgot_resend"),
        }),
        link_href: Some(format!("{}{}", paths::LOGIN, visit.query())),
        link_label: t("back_to_login"),
        ..MessagePage::default()
    };
    forms::message(
        app,
        visit.jar,
        visit.lang,
        StatusCode::OK,
        paths::FORGOT,
        page,
    )
}

fn render_forgot(
    app: &App,
    visit: Visit,
    email: String,
    problems: &[Problem],
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(app, visit.jar.clone());
    let values = Values {
        email,
        ..Values::default()
    };
    let page = ForgotPage {
        action: paths::FORGOT,
        csrf,
        interaction: visit.interaction().unwrap_or_default(),
        error,
        form: FormState::new(app, visit.lang, values, problems),
        login_href: format!("{}{}", paths::LOGIN, visit.query()),
    };
    let here = format!("{}{}", paths::FORGOT, visit.query());
    let body = app
        .pages
        .render(status, "forgot.html", visit.lang, &here, page);
    (jar, body).into_response()
}

/// The link's target, or the dead-link page.
async fn target(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    token: &str,
) -> Result<Result<(CookieJar, Lang, EmailToken, User), Response>, Internal> {
    let (presented, now) = (token.to_owned(), app.now());
    let found = app
        .store
        .run(move |conn| links::reset_target(conn, &presented, now))
        .await?;
    let user_lang = found.as_ref().ok().and_then(|(_, u)| u.locale.clone());
    let (jar, lang) = lang::choose(jar, headers, None, user_lang.as_deref());
    Ok(match found {
        Ok((row, user)) => Ok((jar, lang, row, user)),
        Err(state) => Err(dead_link(app, jar, lang, &state, token, None)),
    })
}

async fn reset_form(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let token = params.first("token").unwrap_or_default().to_owned();
    Ok(match target(&app, jar, &headers, &token).await? {
        Ok((jar, lang, _, user)) => {
            render_reset(&app, jar, lang, &token, &user, &[], None, StatusCode::OK)
        }
        Err(dead) => dead,
    })
}

async fn reset_submit(
    State(app): State<AppState>,
    forms::Origin(origin): forms::Origin,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let token = form.first("token").unwrap_or_default().to_owned();
    let (jar, lang, _, user) = match target(&app, jar, &headers, &token).await? {
        Ok(found) => found,
        Err(dead) => return Ok(dead),
    };
    let again = |jar, problems: &[Problem], error, status| {
        render_reset(&app, jar, lang, &token, &user, problems, error, status)
    };
    if !csrf::verify(&app, &jar, form.first(csrf::FIELD)) {
        let error = Some(app.pages.text(lang, "csrf_failed"));
        return Ok(again(jar, &[], error, StatusCode::BAD_REQUEST));
    }
    let password = form.first("password").unwrap_or_default().to_owned();
    let confirm = form.first("password_confirm").unwrap_or_default();
    let problems = check_new_password(&app, &user, &password, confirm).await?;
    if !problems.is_empty() {
        return Ok(again(jar, &problems, None, StatusCode::OK));
    }
    let browser = forms::browser_digest(&jar, app.config.https());
    match reset(&app, &token, password, lang, origin, browser).await? {
        Ok(reset) => signed_in_again(&app, jar, lang, reset).await,
        Err(state) => Ok(dead_link(&app, jar, lang, &state, &token, None)),
    }
}

/// Sets the new password through the link `token`; what the change ends
/// is decided by `links::reset_password`, whose mails and logout tokens
/// the workers are told to send.
async fn reset(
    app: &AppState,
    token: &str,
    password: String,
    lang: Lang,
    origin: crate::accounts::audit::Origin,
    browser: Option<String>,
) -> Result<Result<links::Reset, links::LinkState>, Internal> {
    let hash = app.hasher.hash(password).await.map_err(Internal)?;
    let (presented, now, a) = (token.to_owned(), app.now(), app.clone());
    let forgot_url = format!("{}{}", app.config.issuer, paths::FORGOT);
    let done = app
        .store
        .run(move |tx| {
            let new = links::NewPassword {
                token: &presented,
                password_hash: &hash,
                lang,
                forgot_url: &forgot_url,
                origin: &origin,
                browser: browser.as_deref(),
            };
            links::reset_password(tx, &a.mailer, &a.clients(), &new, now)
        })
        .await?;
    app.backchannel.wake();
    app.mailer.queued();
    Ok(done)
}

/// The policy and the confirmation, off the executor.
async fn check_new_password(
    app: &App,
    user: &User,
    password: &str,
    confirm: &str,
) -> Result<Vec<Problem>, Internal> {
    let policy = app.config.policy.clone();
    let (user, password, confirm) = (user.clone(), password.to_owned(), confirm.to_owned());
    tokio::task::spawn_blocking(move || new_password_problems(&policy, &user, &password, &confirm))
        .await
        .map_err(|e| Internal(e.to_string()))
}

/// After a reset: a new session here, then the pending request (only in
/// the browser that asked for the link) or the confirmation page. The
/// session's `amr` claims no method: only the mailbox was proven (a
/// password chosen at the link proves nothing more).
async fn signed_in_again(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    reset: links::Reset,
) -> Result<Response, Internal> {
    let pending = forms::resume(app, &jar, reset.resume.as_deref()).await?;
    let (jar, session) = session::start(app, jar, reset.sub, Vec::new()).await?;
    tracing::info!(sid = %session.sid, "password reset; citizen signed in");
    crate::metrics::password_reset();
    let Some((id, req)) = pending else {
        let t = |k| app.pages.text(lang, k);
        let page = MessagePage {
            title: t("reset_done_title"),
            paragraphs: vec![t("reset_done_text")],
            notice: Notice::info(t("reset_done_title")),
            link_href: Some(paths::HOME.to_owned()),
            link_label: t("go_to_account"),
            ..MessagePage::default()
        };
        return Ok(forms::message(
            app,
            jar,
            lang,
            StatusCode::OK,
            paths::RESET,
            page,
        ));
    };
    let response = flow::after_sign_in(app, lang, id, req, session).await?;
    Ok((jar, response).into_response())
}

#[allow(clippy::too_many_arguments)]
fn render_reset(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    token: &str,
    user: &User,
    problems: &[Problem],
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(app, jar);
    let values = Values {
        email: user.email.clone(),
        ..Values::default()
    };
    let page = ResetPage {
        action: paths::RESET,
        csrf,
        token: token.to_owned(),
        error,
        form: FormState::new(app, lang, values, problems),
    };
    let body = app
        .pages
        .render(status, "reset.html", lang, paths::RESET, page);
    (jar, body).into_response()
}
