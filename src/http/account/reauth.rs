//! `/account/reauth`: the password typed again before a sensitive action
//! when the sign-in is older than five minutes; then back to the page that
//! asked (a page of the account space only).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::{
    Answer, Errors, PageTemplate, Posted, SignedIn, Visit, attempt, form_status, render,
    throttled_problem, too_many,
};
use crate::accounts::profile::Problem;
use crate::accounts::reauth::{self, Reentered};
use crate::app::{App, AppState};
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
    let status = form_status(problems, StatusCode::UNAUTHORIZED);
    let page = ReauthPage {
        action: paths::ACCOUNT_REAUTH,
        return_to,
        errors: Errors::of(app, visit.lang, problems),
    };
    render(app, visit, status, paths::ACCOUNT_SECURITY, None, page)
}

async fn show(State(app): State<AppState>, SignedIn(visit, params): SignedIn) -> Answer {
    Ok(page(&app, visit, return_to(&params), &[]))
}

async fn confirm(State(app): State<AppState>, Origin(origin): Origin, posted: Posted) -> Answer {
    let here = paths::ACCOUNT_REAUTH;
    let (visit, params) = posted.checked(&app, here).await?;
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
