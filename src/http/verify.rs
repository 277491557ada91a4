//! The activation link (DESIGN §1.2). Opening it (a GET, which mail
//! scanners do too) changes nothing: its page confirms with a POST. In the
//! browser that signed up, one button; elsewhere, the password chosen at
//! sign-up or a new one (`accounts::activation` says why). Then the
//! citizen is signed in and, when they are shown to be the one who started
//! it, the authorization request continues. An expired, used or replaced
//! link — of either purpose — gets a page that sends a fresh one in one
//! click.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::Internal;
use super::forms::{self, Button, FormState, MessagePage, Notice, Values};
use super::pages::Render;
use super::{csrf, flow, lang, paths, session};
use crate::accounts::activation::{self, Activated, Opened, Proof, Target};
use crate::accounts::links::EmailToken;
use crate::accounts::links::{self, LinkState, Renewed};
use crate::accounts::signup::{Field, Problem};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::VERIFY, get(open).post(confirm))
        .route(paths::LINK_RENEW, post(renew))
}

/// How the activation page asks for the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Browser,
    Password,
    New,
}

impl Mode {
    fn of(target: &Target, asked: Option<&str>) -> Mode {
        match asked {
            Some("new") => Mode::New,
            _ if target.same_browser => Mode::Browser,
            _ => Mode::Password,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Browser => "browser",
            Mode::Password => "password",
            Mode::New => "new",
        }
    }
}

#[derive(Serialize)]
struct ActivatePage {
    action: &'static str,
    csrf: String,
    token: String,
    mode: &'static str,
    switch_href: String,
    error: Option<String>,
    form: FormState,
}

/// What the link is, for this browser (nothing is changed), with the
/// language of the page.
async fn look(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    token: &str,
    explicit_lang: Option<&str>,
) -> Result<(CookieJar, Lang, Opened), Internal> {
    let (presented, now) = (token.to_owned(), app.now());
    let browser = forms::browser_digest(&jar, app.config.https());
    let opened = app
        .store
        .run(move |conn| activation::open(conn, &presented, browser.as_deref(), now))
        .await?;
    let locale = match &opened {
        Opened::Valid(target) => target.locale.clone(),
        _ => None,
    };
    let (jar, lang) = lang::choose(jar, headers, explicit_lang, locale.as_deref());
    Ok((jar, lang, opened))
}

async fn open(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let token = params.first("token").unwrap_or_default().to_owned();
    let (jar, lang, opened) = look(&app, jar, &headers, &token, params.first("lang")).await?;
    Ok(match opened {
        Opened::Valid(target) => {
            let mode = Mode::of(&target, params.first("mode"));
            activate_page(&app, jar, lang, &token, &target, mode, &[], None)
        }
        Opened::Already(row) => already(&app, jar, lang, &row).await?,
        Opened::Invalid(state) => dead_link(&app, jar, lang, &state, &token, None),
    })
}

/// The activation page's POST: the proof, then the account.
async fn confirm(
    State(app): State<AppState>,
    forms::Origin(origin): forms::Origin,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let token = form.first("token").unwrap_or_default().to_owned();
    let (jar, lang, opened) = look(&app, jar, &headers, &token, None).await?;
    let target = match opened {
        Opened::Valid(target) => target,
        Opened::Already(row) => return already(&app, jar, lang, &row).await,
        Opened::Invalid(state) => return Ok(dead_link(&app, jar, lang, &state, &token, None)),
    };
    let mode = Mode::of(&target, form.first("mode"));
    let page = |jar, problems: &[Problem], error| {
        activate_page(&app, jar, lang, &token, &target, mode, problems, error)
    };
    if !csrf::verify(&app, &jar, form.first(csrf::FIELD)) {
        return Ok(page(jar, &[], Some(app.pages.text(lang, "csrf_failed"))));
    }
    let proof = match prove(&app, &target, mode, &form).await? {
        Ok(proof) => proof,
        Err(problems) => return Ok(page(jar, &problems, None)),
    };
    let (jar, browser) = forms::browser_cookie(jar, app.config.https());
    let (presented, now) = (token.clone(), app.now());
    let activated = app
        .store
        .run(move |conn| activation::activate(conn, &presented, &browser, &proof, &origin, now))
        .await?;
    match activated {
        Activated::Done { sub, amr, resume } => signed_in(&app, jar, lang, sub, amr, resume).await,
        Activated::Already(row) => already(&app, jar, lang, &row).await,
        Activated::Invalid(state) => Ok(dead_link(&app, jar, lang, &state, &token, None)),
        // The link's state moved between the page and this POST.
        Activated::Refused => Ok(page(jar, &[wrong_password()], None)),
    }
}

fn wrong_password() -> Problem {
    Problem {
        field: Field::Password,
        key: "activate_wrong_password",
        figure: None,
    }
}

/// The visitor's proof for `mode`: the sign-up password checked (argon2
/// off the executor), or a new password that meets the policy and is
/// hashed; else the problems to show.
async fn prove(
    app: &App,
    target: &Target,
    mode: Mode,
    form: &Params,
) -> Result<Result<Proof, Vec<Problem>>, Internal> {
    let password = form.first("password").unwrap_or_default().to_owned();
    match mode {
        Mode::Browser => Ok(Ok(Proof::Browser)),
        Mode::Password => {
            let hash = target.password_hash.clone();
            let ok = !password.is_empty()
                && password.len() <= 1024
                && app.hasher.verify(Some(hash.clone()), password).await.ok;
            Ok(if ok {
                Ok(Proof::Password { checked_hash: hash })
            } else {
                Err(vec![wrong_password()])
            })
        }
        Mode::New => {
            let confirm = form.first("password_confirm").unwrap_or_default();
            let names = [target.family_name.clone(), target.given_name.clone()];
            let problems =
                forms::new_password_problems(app, &target.email, names, &password, confirm).await?;
            if !problems.is_empty() {
                return Ok(Err(problems));
            }
            let hash = app.hasher.hash(password).await.map_err(Internal)?;
            Ok(Ok(Proof::NewPassword { hash }))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn activate_page(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    token: &str,
    target: &Target,
    mode: Mode,
    problems: &[Problem],
    error: Option<String>,
) -> Response {
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    let (jar, csrf) = csrf::token(app, jar);
    let here = format!("{}?token={token}", paths::VERIFY);
    let switch = if mode == Mode::New { "password" } else { "new" };
    let values = Values {
        email: target.email.clone(),
        ..Values::default()
    };
    let page = ActivatePage {
        action: paths::VERIFY,
        csrf,
        token: token.to_owned(),
        mode: mode.as_str(),
        switch_href: format!("{here}&mode={switch}"),
        error,
        form: FormState::new(app, lang, values, problems),
    };
    let body = app.pages.render(status, "activate.html", lang, &here, page);
    (jar, body).into_response()
}

/// The account was just activated here: sign in, and carry on with the
/// pending request when there is one for this browser.
async fn signed_in(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    sub: String,
    amr: Vec<String>,
    resume: Option<String>,
) -> Result<Response, Internal> {
    let pending = forms::resume(app, &jar, resume.as_deref()).await?;
    let (jar, session) = session::start(app, jar, sub, amr).await?;
    tracing::info!(sid = %session.sid, "account activated; citizen signed in");
    crate::metrics::verified();
    let Some((id, req)) = pending else {
        return Ok(active(app, jar, lang, "verify_done_text", None));
    };
    let response = flow::after_sign_in(app, lang, id, req, session).await?;
    Ok((jar, response).into_response())
}

/// A link already used, its account active: « déjà vérifiée », with the
/// login (resuming the link's request if it belongs to this browser).
async fn already(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    row: &EmailToken,
) -> Result<Response, Internal> {
    let pending = forms::resume(app, &jar, row.interaction.as_deref()).await?;
    Ok(active(app, jar, lang, "verify_already_text", pending))
}

/// « Votre compte est actif »: with the login (resuming the pending
/// request) or, when already signed in here, the account page.
fn active(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    text: &'static str,
    pending: Option<(String, crate::oidc::authorize::AuthRequest)>,
) -> Response {
    let t = |k| app.pages.text(lang, k);
    let signed_in_here = super::cookies::token(&jar, super::cookies::SESSION, app.config.https())
        .is_some()
        && pending.is_none();
    let mut paragraphs = vec![t(text)];
    let (href, label) = match &pending {
        Some((id, _)) => {
            paragraphs.push(t("verify_sign_in_to_continue"));
            (
                format!("{}?interaction={id}", paths::LOGIN),
                t("login_title"),
            )
        }
        None if signed_in_here => (paths::HOME.to_owned(), t("go_to_account")),
        None => (paths::LOGIN.to_owned(), t("login_title")),
    };
    let page = MessagePage {
        title: t("verify_done_title"),
        paragraphs,
        link_href: Some(href),
        link_label: label,
        ..MessagePage::default()
    };
    forms::message(app, jar, lang, StatusCode::OK, paths::VERIFY, page)
}

/// An expired, used, replaced or unknown link: what happened, and the
/// button that sends a fresh link (when the link names an account).
pub fn dead_link(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    state: &LinkState,
    token: &str,
    notice: Option<Notice>,
) -> Response {
    let t = |k| app.pages.text(lang, k);
    let (paragraphs, button) = match state {
        LinkState::Unknown => (vec![t("link_unknown_text")], None),
        other => {
            let why = match other {
                LinkState::Expired(_) => "link_expired_text",
                _ => "link_used_text",
            };
            let button = Button {
                action: paths::LINK_RENEW,
                fields: vec![("token", token.to_owned())],
                question: None,
                label: t("link_renew_button"),
            };
            (vec![t(why), t("link_renew_text")], Some(button))
        }
    };
    let page = MessagePage {
        title: t("link_invalid_title"),
        paragraphs,
        notice,
        button,
        link_href: Some(paths::LOGIN.to_owned()),
        link_label: t("back_to_login"),
    };
    forms::message(app, jar, lang, StatusCode::BAD_REQUEST, paths::VERIFY, page)
}

/// « Un nouveau lien vous a été envoyé ».
fn link_renewed(app: &App, jar: CookieJar, lang: Lang, link: &str) -> Response {
    forms::queued(app, Some(link));
    let t = |k| app.pages.text(lang, k);
    let page = MessagePage {
        title: t("link_renewed_title"),
        paragraphs: vec![t("link_renewed_text")],
        link_href: Some(paths::LOGIN.to_owned()),
        link_label: t("back_to_login"),
        ..MessagePage::default()
    };
    forms::message(app, jar, lang, StatusCode::OK, paths::LINK_RENEW, page)
}

/// « M'envoyer un nouveau lien »: the same account, purpose and pending
/// request as the dead link.
async fn renew(
    State(app): State<AppState>,
    peer: forms::ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let form = Params::parse(&body);
    let token = form.first("token").unwrap_or_default().to_owned();
    let (jar, lang) = lang::choose(jar, &headers, None, None);
    let t = |k| app.pages.text(lang, k);
    let expired = LinkState::Expired(EmailToken::default());
    if !csrf::verify(&app, &jar, form.first(csrf::FIELD)) {
        let notice = Notice::error(t("csrf_failed"));
        return Ok(dead_link(&app, jar, lang, &expired, &token, notice));
    }
    let ctx = forms::mail_context(&app, peer, lang, None, None);
    let (now, a, presented) = (app.now(), app.clone(), token.clone());
    let renewed = app
        .store
        .run(move |conn| links::renew(conn, &a.mailer, &presented, &ctx, now))
        .await?;
    Ok(match renewed {
        Renewed::Sent(link) => link_renewed(&app, jar, lang, &link),
        Renewed::AlreadyVerified(id) => {
            let pending = forms::resume(&app, &jar, id.as_deref()).await?;
            active(&app, jar, lang, "verify_already_text", pending)
        }
        Renewed::Limited(limit) => {
            let notice = Notice::error(forms::limit_message(&app, lang, limit));
            dead_link(&app, jar, lang, &expired, &token, notice)
        }
        Renewed::Unknown => dead_link(&app, jar, lang, &LinkState::Unknown, &token, None),
    })
}
