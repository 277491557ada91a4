//! Carrying an authorization request forward: after validation, after a
//! login and after consent. Decides (with `oidc::flow`) whether the citizen
//! must sign in or consent, stores the pending request as an interaction
//! when a page is needed, and otherwise answers the client (RFC 6749
//! §4.1.2, RFC 9207 `iss`, OAuth 2.0 Form Post Response Mode).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::{self, Internal};
use super::pages::Render;
use super::paths;
use super::session::Lookup;
use crate::accounts::{Session, throttle};
use crate::app::App;
use crate::i18n::Lang;
use crate::oidc::OAuthError;
use crate::oidc::authorize::{AuthRequest, ResponseMode, ReturnTo};
use crate::oidc::pending::{self, Lifetimes, Moved};
use crate::secrets;

/// Moves a request straight from /authorize on; a new interaction belongs
/// to the browser whose cookie digest is `browser`, and counts against the
/// bound of `client_address` (`[policy] pending_requests_per_client`). The
/// browser's session is looked up (`signed`) in the same database job as
/// the decision: one round trip on the authorize path.
pub async fn open(
    app: &App,
    lang: Lang,
    req: AuthRequest,
    signed: Option<Lookup>,
    client_address: &str,
    browser: String,
) -> Result<Response, Internal> {
    let Some(client) = app.clients().shared(&req.client_id) else {
        return Ok(client_gone(app, lang));
    };
    let (now, ttl) = (app.now(), lifetimes(app));
    let creator = pending::Creator {
        key: throttle::pending_key(&throttle::requester(client_address)),
        bound: app.config.policy.pending_requests,
    };
    let return_to = req.return_to.clone();
    let moved = run_open(app, signed.is_some(), move |tx| {
        let found = match &signed {
            Some(lookup) => lookup.run_for(tx, &client.id)?,
            None => None,
        };
        let (session, standing) = found.unzip();
        let fresh = pending::Fresh {
            req: &req,
            session: session.as_ref(),
            standing,
            creator: &creator,
            browser: &browser,
        };
        pending::open(tx, &client, fresh, now, ttl)
    })
    .await?;
    Ok(render(app, lang, &return_to, moved))
}

/// Runs an authorization request's job: beside the other writers when the
/// browser is signed in. Without a session it needs the login page, and so
/// the pending-requests counter, which only jobs taking turns change
/// (`Tx::in_turn`): it goes there at once.
async fn run_open<F>(app: &App, signed_in: bool, job: F) -> crate::store::Result<Moved>
where
    F: Fn(&crate::store::Tx<'_>) -> crate::store::Result<Moved> + Send + Sync + 'static,
{
    match signed_in {
        true => app.store.run_read_first(job).await,
        false => app.store.run_read_first_in_turn(job).await,
    }
}

/// Continues the pending request `id` after the citizen signed in as
/// `session` (password, verification link, reset: all the same way).
pub async fn after_sign_in(
    app: &App,
    lang: Lang,
    id: String,
    req: AuthRequest,
    session: Session,
) -> Result<Response, Internal> {
    let Some(client) = app.clients().shared(&req.client_id) else {
        return Ok(client_gone(app, lang));
    };
    let (now, ttl) = (app.now(), lifetimes(app));
    let return_to = req.return_to.clone();
    let moved = app
        .store
        .run(move |tx| pending::after_sign_in(tx, &client, &id, &req, &session, now, ttl))
        .await?;
    Ok(render(app, lang, &return_to, moved))
}

/// Continues the pending request `id` once `session` proved (or enrolled)
/// its second factor; `login_sid` is the session that signed in for it.
pub async fn resume(
    app: &App,
    lang: Lang,
    id: String,
    req: AuthRequest,
    login_sid: Option<String>,
    session: Session,
) -> Result<Response, Internal> {
    let Some(client) = app.clients().shared(&req.client_id) else {
        return Ok(client_gone(app, lang));
    };
    let (now, ttl) = (app.now(), lifetimes(app));
    let return_to = req.return_to.clone();
    let moved = app
        .store
        .run(move |tx| {
            let login = login_sid.as_deref();
            pending::resume(tx, &client, &id, &req, &session, login, now, ttl)
        })
        .await?;
    Ok(render(app, lang, &return_to, moved))
}

/// The one rendering of where a request stands.
pub fn render(app: &App, lang: Lang, return_to: &ReturnTo, moved: Moved) -> Response {
    match moved {
        Moved::Login(id) => see_other(&format!("{}?interaction={id}", paths::LOGIN)),
        Moved::SecondFactor(id) => see_other(&format!("{}?interaction={id}", paths::SECOND_FACTOR)),
        Moved::Enrol(id) => see_other(&format!("{}?interaction={id}", paths::ACCOUNT_TOTP)),
        Moved::Consent(id) => see_other(&format!("{}?interaction={id}", paths::CONSENT)),
        Moved::Code(code) => respond(app, lang, return_to, Ok(&code)),
        Moved::Fail(e) => respond(app, lang, return_to, Err(&e)),
        Moved::Gone => expired(app, lang),
        Moved::Busy(wait) => busy(app, lang, wait),
    }
}

/// 429: this client address opened too many pending requests lately.
fn busy(app: &App, lang: Lang, wait: i64) -> Response {
    let status = StatusCode::TOO_MANY_REQUESTS;
    let page = error::page(app, lang, status, "busy_title", "busy_text", None);
    ([(header::RETRY_AFTER, wait.to_string())], page).into_response()
}

pub fn lifetimes(app: &App) -> Lifetimes {
    Lifetimes {
        code: app.config.tokens.code_ttl,
        interaction: app.config.tokens.interaction_ttl,
    }
}

/// Loads a pending request by id, if it belongs to this browser (the one
/// that made it, or the one an activation link handed it to).
pub async fn load(
    app: &App,
    jar: &CookieJar,
    id: &str,
) -> Result<Option<(AuthRequest, Option<String>)>, Internal> {
    let (id, now) = (id.to_owned(), app.now());
    let browser = super::forms::browser_digest(jar, app.config.https());
    Ok(app
        .store
        .run(move |tx| pending::load(tx, &id, browser.as_deref(), now))
        .await?)
}

/// The page shown when a pending request is unknown or expired.
pub fn expired(app: &App, lang: Lang) -> Response {
    error::page(
        app,
        lang,
        StatusCode::BAD_REQUEST,
        "interaction_expired_title",
        "interaction_expired_text",
        None,
    )
}

pub fn client_gone(app: &App, lang: Lang) -> Response {
    error::page(
        app,
        lang,
        StatusCode::BAD_REQUEST,
        "authorize_error_title",
        "authorize_error_text",
        Some("unknown client_id".into()),
    )
}

pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// The authorization response: a code or an error, with `state` and `iss`,
/// in the response mode the client asked for.
pub fn respond(
    app: &App,
    lang: Lang,
    to: &ReturnTo,
    result: Result<&str, &OAuthError>,
) -> Response {
    let mut fields: Vec<(&str, &str)> = match result {
        Ok(code) => vec![("code", code)],
        Err(e) => vec![
            ("error", e.code.as_str()),
            ("error_description", &e.description),
        ],
    };
    if let Some(state) = &to.state {
        fields.push(("state", state));
    }
    fields.push(("iss", &app.config.issuer));
    match to.response_mode {
        ResponseMode::Query => {
            let Ok(mut url) = url::Url::parse(&to.redirect_uri) else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            url.query_pairs_mut().extend_pairs(fields);
            see_other(url.as_str())
        }
        ResponseMode::FormPost => form_post(app, lang, &to.redirect_uri, &fields),
    }
}

/// The form_post page's inline script: it submits the form. Its hash is
/// the only script the page's CSP allows.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit()";

#[derive(Serialize)]
struct FormPost<'a> {
    redirect_uri: &'a str,
    fields: &'a [(&'a str, &'a str)],
}

fn form_post(app: &App, lang: Lang, redirect_uri: &str, fields: &[(&str, &str)]) -> Response {
    use base64::Engine;
    let hash = base64::engine::general_purpose::STANDARD
        .encode(secrets::sha256(FORM_POST_SCRIPT.as_bytes()));
    let csp = format!(
        "default-src 'none'; style-src 'self'; script-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
    );
    let mut response = app.pages.render(
        StatusCode::OK,
        "form_post.html",
        lang,
        "",
        FormPost {
            redirect_uri,
            fields,
        },
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
