//! The home page (who is signed in) and the stylesheet.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::error::Internal;
use super::pages::Render;
use super::{lang, paths, session};
use crate::accounts;
use crate::accounts::User;
use crate::app::{App, AppState};
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::HOME, get(home))
        .route(paths::STYLESHEET, get(stylesheet))
}

#[derive(Serialize)]
struct Message {
    title: String,
    paragraphs: Vec<String>,
    link_href: Option<String>,
    link_label: String,
}

async fn home(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let (jar, lang) = lang::choose(jar, &headers, params.first("lang"), None);
    let Ok(user) = citizen(&app, &jar).await? else {
        return Ok((jar, super::flow::see_other(paths::SECOND_FACTOR)).into_response());
    };
    let text = |k| app.pages.text(lang, k);
    let signed = user.is_some();
    let page = Message {
        title: text("home_title"),
        paragraphs: match &user {
            Some(u) => vec![format!("{} {}", text("home_signed_in"), u.email)],
            None => vec![text("home_signed_out")],
        },
        // Signed in: « Mon compte »; otherwise « Se connecter ».
        link_href: Some(if signed { paths::ACCOUNT } else { paths::LOGIN }.to_owned()),
        link_label: text(if signed {
            "account_link"
        } else {
            "login_title"
        }),
    };
    Ok((
        jar,
        app.pages
            .render(StatusCode::OK, "message.html", lang, paths::HOME, page),
    )
        .into_response())
}

/// The citizen signed in in this browser, if any; `Err` while the session
/// still owes its second factor (the password alone is not signed in).
async fn citizen(app: &App, jar: &CookieJar) -> Result<Result<Option<User>, ()>, Internal> {
    let Some(s) = session::current(app, jar).await? else {
        return Ok(Ok(None));
    };
    let (owes, user) = app
        .store
        .run(move |tx| {
            let owes = accounts::totp::owes_code(tx, &s)?;
            Ok((owes, accounts::users::by_sub(tx, &s.sub)?))
        })
        .await?;
    Ok(if owes { Err(()) } else { Ok(user) })
}

async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../static/sesame.css"),
    )
        .into_response()
}
