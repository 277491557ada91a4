//! `/account`: the overview, one line per section.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Serialize;

use super::{Answer, PageTemplate, SECTIONS, SignedIn, render};
use crate::app::AppState;
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

async fn show(State(app): State<AppState>, SignedIn(visit, _): SignedIn) -> Answer {
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
