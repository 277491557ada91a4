//! Who is asking, on a page of the account space: the signed-in visit
//! (session, citizen, language) read from the browser's cookies, the forms
//! it posts with their CSRF token checked, and the pages that come instead
//! of a handler's own — the login page, the code step of a session that
//! owes its second factor, the password page when the sign-in is older
//! than five minutes, the expired form, the error page. Those come as
//! [`Early`], so that a handler stops at them with `?` and reads as its
//! one straight path.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::{Message, render};
use crate::accounts::reauth as reentry;
use crate::accounts::{Session, User};
use crate::app::{App, AppState};
use crate::http::error::Internal;
use crate::http::forms::Notice;
use crate::http::{csrf, flow, lang, paths, session};
use crate::i18n::Lang;
use crate::oidc::params::Params;
use crate::store;

/// An account handler's answer: its own page, or one that came early.
pub type Answer = Result<Response, Early>;

/// A page answered instead of the handler's own (see the module header);
/// boxed, so that a handler's `Result` stays small on its straight path.
pub struct Early(Box<Response>);

impl Early {
    pub fn page(response: Response) -> Early {
        Early(Box::new(response))
    }
}

impl From<Internal> for Early {
    fn from(e: Internal) -> Early {
        Early::page(e.into_response())
    }
}

impl From<store::Error> for Early {
    fn from(e: store::Error) -> Early {
        Internal::from(e).into()
    }
}

impl IntoResponse for Early {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// A signed-in citizen on one of their pages.
pub struct Visit {
    pub jar: CookieJar,
    pub lang: Lang,
    pub session: Session,
    pub user: User,
}

/// The session and citizen of this browser; the login page without one,
/// the code step while the session owes its second factor.
async fn visit(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    explicit_lang: Option<&str>,
) -> Result<Visit, Early> {
    let found = match session::Lookup::of(app, &jar) {
        Some(lookup) => {
            app.store
                .run(move |tx| {
                    let Some(session) = lookup.run(tx)? else {
                        return Ok(None);
                    };
                    let owes = crate::accounts::totp::owes_code(tx, &session)?;
                    let user = crate::accounts::users::by_sub(tx, &session.sub)?;
                    Ok(user.map(|u| (session, u, owes)))
                })
                .await?
        }
        None => None,
    };
    let user_lang = found.as_ref().and_then(|(_, u, _)| u.locale.clone());
    let (jar, lang) = lang::choose(jar, headers, explicit_lang, user_lang.as_deref());
    match found {
        // A session that still owes its second factor (the citizen enrolled
        // one, maybe in another browser) proves it before anything else.
        Some((_, _, true)) => Err(Early::page(
            (jar, flow::see_other(paths::SECOND_FACTOR)).into_response(),
        )),
        Some((session, user, false)) => Ok(Visit {
            jar,
            lang,
            session,
            user,
        }),
        None => Err(Early::page(
            (jar, flow::see_other(paths::LOGIN)).into_response(),
        )),
    }
}

/// A page of the account space asked for: the visit and the query
/// (`?lang=` is honoured).
pub struct SignedIn(pub Visit, pub Params);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Early;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<SignedIn, Early> {
        let jar = CookieJar::from_headers(&parts.headers);
        let params = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
        let visit = visit(app, jar, &parts.headers, params.first("lang")).await?;
        Ok(SignedIn(visit, params))
    }
}

/// A form posted to the account space, as it came: [`Posted::checked`]
/// finds its visit and checks its CSRF token.
pub struct Posted {
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
}

impl FromRequest<AppState> for Posted {
    type Rejection = BytesRejection;

    async fn from_request(req: Request, app: &AppState) -> Result<Posted, BytesRejection> {
        let (jar, headers) = (
            CookieJar::from_headers(req.headers()),
            req.headers().clone(),
        );
        let body = Bytes::from_request(req, app).await?;
        Ok(Posted { jar, headers, body })
    }
}

impl Posted {
    /// The visit and the form. A bad CSRF token gets a page saying the
    /// form expired (with `back`, its way back), and nothing changes.
    pub async fn checked(self, app: &App, back: &'static str) -> Result<(Visit, Params), Early> {
        let form = Params::parse(&self.body);
        let visit = visit(app, self.jar, &self.headers, None).await?;
        if !csrf::verify(app, &visit.jar, form.first(csrf::FIELD)) {
            let notice = Notice::error(app.pages.text(visit.lang, "csrf_failed"));
            let page = Message::new(app, visit.lang, "account_title", vec![], back);
            let status = StatusCode::BAD_REQUEST;
            return Err(Early::page(render(app, visit, status, back, notice, page)));
        }
        Ok((visit, form))
    }
}

/// Nothing when the sign-in is younger than five minutes; else the
/// password page, which comes back to `here` once the password is typed
/// again.
pub fn fresh(app: &App, visit: &Visit, here: &str) -> Result<(), Early> {
    if reentry::is_fresh(&visit.session, app.now()) {
        return Ok(());
    }
    let here: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    let target = format!("{}?return={here}", paths::ACCOUNT_REAUTH);
    Err(Early::page(flow::see_other(&target)))
}
