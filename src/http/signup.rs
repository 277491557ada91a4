//! « Créer un compte » (DESIGN §1.1–1.2): the form, its check, and the
//! page « Vous devez vérifier votre courriel pour activer votre compte »
//! with its « Cliquez ici pour renvoyer le courriel ».

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::Internal;
use super::forms::{self, Button, FormState, MessagePage, Notice, Values, Visit};
use super::pages::Render;
use super::{csrf, paths};
use crate::accounts::links;
use crate::accounts::signup::{self, Problem, SignupForm};
use crate::accounts::users::Email;
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SIGNUP, get(show).post(submit))
        .route(paths::SIGNUP_RESEND, post(resend))
}

#[derive(Serialize)]
struct SignupPage {
    action: &'static str,
    csrf: String,
    interaction: String,
    client_name: Option<String>,
    error: Option<String>,
    form: FormState,
    login_href: String,
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    Ok(
        match forms::visit(&app, jar, &headers, &params, true).await? {
            Ok(visit) => render(&app, visit, Values::default(), &[], None, StatusCode::OK),
            Err(expired) => expired,
        },
    )
}

async fn submit(
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
    let raw = read_form(&form);
    let values = Values {
        civilite: raw.civilite.clone(),
        family_name: raw.family_name.clone(),
        given_name: raw.given_name.clone(),
        email: raw.email.trim().to_owned(),
    };
    if !csrf::verify(&app, &visit.jar, form.first(csrf::FIELD)) {
        let error = Some(app.pages.text(visit.lang, "csrf_failed"));
        let status = StatusCode::BAD_REQUEST;
        return Ok(render(&app, visit, values, &[], error, status));
    }
    // The mail limits first: a refused sign-up costs no zxcvbn, no argon2.
    if let Some(limit) = limited(&app, &peer, visit.lang, &raw.email).await? {
        return Ok(refused(&app, visit, values, limit));
    }
    let policy = app.config.policy.clone();
    let checked = tokio::task::spawn_blocking(move || signup::parse(&raw, &policy))
        .await
        .map_err(|e| Internal(e.to_string()))?;
    let citizen = match checked {
        Ok(citizen) => citizen,
        Err(problems) => return Ok(render(&app, visit, values, &problems, None, StatusCode::OK)),
    };
    let (visit, result) = create(&app, visit, peer, citizen).await?;
    Ok(created(&app, visit, values, result))
}

/// « Vous devez vérifier votre courriel », or the limit that kept the
/// mail back.
fn created(
    app: &App,
    visit: Visit,
    values: Values,
    result: Result<String, links::Limit>,
) -> Response {
    match result {
        Ok(link) => {
            forms::queued(app, Some(&link));
            let (id, email) = (visit.interaction(), &values.email);
            check_email(app, visit.jar, visit.lang, email, id, true, None)
        }
        Err(limit) => refused(app, visit, values, limit),
    }
}

/// 429: the form again, with the limit it hit.
fn refused(app: &App, visit: Visit, values: Values, limit: links::Limit) -> Response {
    let error = forms::limit_message(app, visit.lang, limit);
    let status = StatusCode::TOO_MANY_REQUESTS;
    render(app, visit, values, &[], Some(error), status)
}

/// The mail limit a sign-up for `email` would hit (nothing is counted;
/// `signup::register` checks again and counts).
async fn limited(
    app: &AppState,
    peer: &forms::ClientIp,
    lang: Lang,
    email: &str,
) -> Result<Option<links::Limit>, Internal> {
    let Some(address) = Email::parse(email) else {
        return Ok(None);
    };
    let ctx = forms::mail_context(app, peer.clone(), lang, None, None);
    let now = app.now();
    let verdict = app
        .store
        .run(move |tx| links::mail_limit(tx, address.as_str(), &ctx, now))
        .await?;
    Ok(verdict.err())
}

/// Hashes the password (off the executor), binds the link to this
/// browser, creates the account and queues its mail.
async fn create(
    app: &AppState,
    visit: Visit,
    peer: forms::ClientIp,
    citizen: signup::NewCitizen,
) -> Result<(Visit, Result<String, links::Limit>), Internal> {
    let hash = app
        .hasher
        .hash(citizen.password.clone())
        .await
        .map_err(Internal)?;
    let (jar, browser) = forms::browser_cookie(visit.jar, app.config.https());
    let visit = Visit { jar, ..visit };
    let ctx = forms::mail_context(app, peer, visit.lang, visit.interaction(), Some(browser));
    let (now, a) = (app.now(), app.clone());
    let result = app
        .store
        .run(move |conn| signup::register(conn, &a.mailer, &citizen, hash, &ctx, now))
        .await?;
    Ok((visit, result))
}

/// « Cliquez ici pour renvoyer le courriel »: the same answer whether the
/// address has an unverified account, a verified one or none.
async fn resend(
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
    let email = form.first("email").unwrap_or_default().trim().to_owned();
    let id = visit.interaction();
    let t = |k| app.pages.text(visit.lang, k);
    if !csrf::verify(&app, &visit.jar, form.first(csrf::FIELD)) {
        let notice = Notice::error(t("csrf_failed"));
        return Ok(check_email(
            &app, visit.jar, visit.lang, &email, id, false, notice,
        ));
    }
    let (jar, browser) = forms::browser_cookie(visit.jar, app.config.https());
    let ctx = forms::mail_context(&app, peer, visit.lang, id.clone(), Some(browser));
    let notice = match Email::parse(&email) {
        Some(address) => resend_to(&app, address, ctx, visit.lang).await?,
        None => Notice::error(t("signup_email_invalid")),
    };
    Ok(check_email(&app, jar, visit.lang, &email, id, true, notice))
}

/// Sends the activation link again (or the « compte existant » mail, or
/// nothing); the notice says so, or names the limit hit.
async fn resend_to(
    app: &AppState,
    address: Email,
    ctx: links::MailContext,
    lang: Lang,
) -> Result<Option<Notice>, Internal> {
    let (now, a) = (app.now(), app.clone());
    let result = app
        .store
        .run(move |tx| links::resend_verification(tx, &a.mailer, address.as_str(), &ctx, now))
        .await?;
    Ok(match result {
        Ok(link) => {
            forms::queued(app, link.as_deref());
            Notice::info(app.pages.text(lang, "check_email_resent"))
        }
        Err(limit) => Notice::error(forms::limit_message(app, lang, limit)),
    })
}

/// « Vous devez vérifier votre courriel pour activer votre compte », with
/// the button that sends the mail again. `sent`: a mail just went out.
pub fn check_email(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    email: &str,
    interaction: Option<String>,
    sent: bool,
    notice: Option<Notice>,
) -> Response {
    let t = |k| app.pages.text(lang, k);
    let mut paragraphs = Vec::new();
    if sent || notice.is_none() {
        paragraphs.push(t("check_email_text"));
    }
    if sent {
        paragraphs.push(t("check_email_sent"));
    }
    let page = MessagePage {
        title: t("check_email_title"),
        paragraphs,
        notice,
        button: Some(Button {
            action: paths::SIGNUP_RESEND,
            fields: vec![
                ("email", email.to_owned()),
                ("interaction", interaction.clone().unwrap_or_default()),
            ],
            question: Some(t("check_email_question")),
            label: t("check_email_resend"),
        }),
        link_href: Some(login_href(interaction.as_deref())),
        link_label: t("back_to_login"),
    };
    forms::message(app, jar, lang, StatusCode::OK, paths::SIGNUP, page)
}

fn login_href(interaction: Option<&str>) -> String {
    match interaction {
        Some(id) => format!("{}?interaction={id}", paths::LOGIN),
        None => paths::LOGIN.to_owned(),
    }
}

fn read_form(form: &Params) -> SignupForm {
    let field = |name| form.first(name).unwrap_or_default().to_owned();
    SignupForm {
        civilite: field("civilite"),
        family_name: field("family_name"),
        given_name: field("given_name"),
        email: field("email"),
        password: field("password"),
        password_confirm: field("password_confirm"),
    }
}

fn render(
    app: &App,
    visit: Visit,
    values: Values,
    problems: &[Problem],
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(app, visit.jar.clone());
    let query = visit.query();
    let page = SignupPage {
        action: paths::SIGNUP,
        csrf,
        interaction: visit.interaction().unwrap_or_default(),
        client_name: visit.client_name(app),
        error,
        form: FormState::new(app, visit.lang, values, problems),
        login_href: format!("{}{query}", paths::LOGIN),
    };
    let here = format!("{}{query}", paths::SIGNUP);
    let body = app
        .pages
        .render(status, "signup.html", visit.lang, &here, page);
    (jar, body).into_response()
}
