//! `/account`: the overview, one line per section.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::{PageTemplate, SECTIONS, get_visit, render};
use crate::app::AppState;
use crate::http::error::Internal;
use crate::http::paths;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::ACCOUNT, get(show))
}

#[derive(Serialize)]
struct Overview {
    greeting: String,
    sections: Vec<Section>,
}

#[derive(Serialize)]
struct Section {
    href: &'static str,
    title: String,
    text: String,
}

impl PageTemplate for Overview {
    fn template(&self) -> &'static str {
        "account/overview.html"
    }
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let (visit, _) = match get_visit(&app, jar, &headers, q).await? {
        Ok(v) => v,
        Err(login) => return Ok(login),
    };
    let t = |k| app.pages.text(visit.lang, k);
    let texts = [
        "overview_profile",
        "overview_security",
        "overview_sessions",
        "overview_applications",
        "overview_data",
    ];
    let sections = SECTIONS[1..]
        .iter()
        .zip(texts)
        .map(|(&(href, title), text)| Section {
            href,
            title: t(title),
            text: t(text),
        })
        .collect();
    let greeting = visit.user.given_name.clone().unwrap_or_default();
    let page = Overview { greeting, sections };
    Ok(render(
        &app,
        visit,
        StatusCode::OK,
        paths::ACCOUNT,
        None,
        page,
    ))
}
