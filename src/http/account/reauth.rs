//! `/account/reauth`: the password typed again before a sensitive action
//! when the sign-in is older than five minutes; then back to the page that
//! asked (a page of the account space only).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::{
    Errors, PageTemplate, Visit, attempt, get_visit, posted, render, throttled_problem, too_many,
};
use crate::accounts::profile::Problem;
use crate::accounts::reauth::{self, Reentered};
use crate::app::{App, AppState};
use crate::http::error::Internal;
use crate::http::forms::Origin;
use crate::http::{flow, paths};
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::ACCOUNT_REAUTH, get(show).post(confirm))
}

#[derive(Serialize)]
struct ReauthPage {
    action: &'static str,
    return_to: String,
    errors: Errors,
}

impl PageTemplate for ReauthPage {
    fn template(&self) -> &'static str {
        "account/reauth.html"
    }
}

/// Where to go back to: `return` if it is a page of the account space.
fn return_to(params: &Params) -> String {
    params
        .first("return")
        .filter(|r| reauth::safe_return(r, paths::ACCOUNT))
        .unwrap_or(paths::ACCOUNT)
        .to_owned()
}

fn page(app: &App, visit: Visit, return_to: String, problems: &[Problem]) -> Response {
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    let page = ReauthPage {
        action: paths::ACCOUNT_REAUTH,
        return_to,
        errors: Errors::of(app, visit.lang, problems),
    };
    render(app, visit, status, paths::ACCOUNT_SECURITY, None, page)
}

async fn show(
    State(app): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Internal> {
    let (visit, params) = match get_visit(&app, jar, &headers, q).await? {
        Ok(v) => v,
        Err(login) => return Ok(login),
    };
    Ok(page(&app, visit, return_to(&params), &[]))
}

async fn confirm(
    State(app): State<AppState>,
    Origin(origin): Origin,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Internal> {
    let here = paths::ACCOUNT_REAUTH;
    let (visit, params) = match posted(&app, jar, &headers, &body, here).await? {
        Ok(v) => v,
        Err(answer) => return Ok(answer),
    };
    let back = return_to(&params);
    let password = params.first("password").unwrap_or_default().to_owned();
    let (session, attempt) = (visit.session.clone(), attempt(&app, origin));
    let outcome = reauth::confirm(
        &app.store,
        &app.hasher,
        &session,
        password,
        &attempt,
        app.now(),
    );
    match outcome.await? {
        Reentered::Right => {
            tracing::info!(sid = %session.sid, "password confirmed again");
            Ok(flow::see_other(&back))
        }
        Reentered::Wrong => {
            tracing::info!(sid = %session.sid, "password confirmation refused");
            let problem = Problem::on("password", "reauth_failed");
            Ok(page(&app, visit, back, &[problem]))
        }
        Reentered::Throttled { retry_after } => {
            let problem = throttled_problem("password", retry_after);
            Ok(too_many(page(&app, visit, back, &[problem]), retry_after))
        }
    }
}
