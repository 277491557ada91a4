//! The activation link (DESIGN §1.2): opening it verifies the address,
//! once; in the browser that signed up it also signs the citizen in and
//! resumes the authorization request they started; elsewhere they are
//! asked to sign in first. An expired, used or replaced link — of either
//! purpose — gets a page that sends a fresh one in one click.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;

use super::error::Internal;
use super::forms::{self, Button, MessagePage, Notice};
use super::{csrf, flow, lang, paths, session};
use crate::accounts::links::EmailToken;
use crate::accounts::links::{self, LinkState, Renewed, Verified};
use crate::app::{App, AppState};
use crate::i18n::Lang;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::VERIFY, get(open))
        .route(paths::LINK_RENEW, post(renew))
}

async fn open(
    State(app): State<AppState>,
    forms::Origin(origin): forms::Origin,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let token = params.first("token").unwrap_or_default().to_owned();
    let now = app.now();
    let outcome = app
        .store
        .run(move |conn| links::verify(conn, &token, &origin, now))
        .await?;
    let row = match &outcome {
        Verified::Done(row) | Verified::Already(row) => Some(row),
        Verified::Invalid(state) => state.token(),
    };
    let pending = forms::resume(&app, row.and_then(|r| r.interaction.as_deref())).await?;
    let ui_locales = pending.as_ref().and_then(|(_, r)| r.ui_locales.clone());
    let (jar, lang) = lang::choose(jar, &headers, params.first("lang"), ui_locales.as_deref());
    match outcome {
        Verified::Done(row) => activated(&app, jar, lang, row, pending).await,
        Verified::Already(_) => Ok(active(&app, jar, lang, "verify_already_text", pending)),
        Verified::Invalid(state) => {
            let token = params.first("token").unwrap_or_default();
            Ok(dead_link(&app, jar, lang, &state, token, None))
        }
    }
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

/// The address was just verified: in the browser that signed up, sign in
/// and carry on with the pending request; elsewhere, say so and offer the
/// login.
async fn activated(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    row: EmailToken,
    pending: Option<(String, crate::oidc::authorize::AuthRequest)>,
) -> Result<Response, Internal> {
    if !forms::same_browser(&jar, app.config.https(), row.browser.as_deref()) {
        return Ok(active(app, jar, lang, "verify_done_text", pending));
    }
    let (jar, session) = session::start(app, jar, row.sub, vec!["pwd".into()]).await?;
    tracing::info!(sid = %session.sid, "address verified; citizen signed in");
    let Some((id, req)) = pending else {
        return Ok(active(app, jar, lang, "verify_done_text", None));
    };
    let response = flow::after_sign_in(app, lang, id, req, session).await?;
    Ok((jar, response).into_response())
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
            let pending = forms::resume(&app, id.as_deref()).await?;
            active(&app, jar, lang, "verify_already_text", pending)
        }
        Renewed::Limited(limit) => {
            let notice = Notice::error(forms::limit_message(&app, lang, limit));
            dead_link(&app, jar, lang, &expired, &token, notice)
        }
        Renewed::Unknown => dead_link(&app, jar, lang, &LinkState::Unknown, &token, None),
    })
}
