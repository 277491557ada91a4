//! `/account/applications`: each service the citizen consented to, what
//! it receives (in the consent page's words), since when, its privacy
//! policy; « Retirer l'accès » withdraws the consent (its tokens end, it
//! gets a back-channel logout). A consent that is not the citizen's
//! changes nothing.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;

use super::sessions::when;
use super::{Answer, PageTemplate, Posted, SignedIn, done, done_notice, not_yours, render};
use crate::accounts::applications::{self, Consent};
use crate::app::{App, AppState};
use crate::http::forms::Origin;
use crate::http::paths;
use crate::i18n::Lang;
use crate::protocol::Scope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_APPLICATIONS, get(show))
        .route(paths::ACCOUNT_WITHDRAW, post(withdraw))
}

#[derive(Serialize)]
struct ApplicationsPage {
    withdraw_action: &'static str,
    applications: Vec<Application>,
}

#[derive(Serialize)]
struct Application {
    client_id: String,
    name: String,
    receives: Vec<String>,
    since: String,
    privacy_policy_url: Option<String>,
}

impl PageTemplate for ApplicationsPage {
    fn template(&self) -> &'static str {
        "account/applications.html"
    }
}

/// A scope in the consent page's words.
fn scope_text(app: &App, lang: Lang, scope: Scope) -> String {
    app.pages.text(lang, crate::http::consent::scope_key(scope))
}

fn application(app: &App, lang: Lang, c: Consent) -> Application {
    let client = app.clients().get(&c.client_id).cloned();
    Application {
        name: client
            .as_ref()
            .map(|k| k.name.clone())
            .unwrap_or_else(|| c.client_id.to_string()),
        receives: c.scopes.iter().map(|s| scope_text(app, lang, s)).collect(),
        since: when(lang, c.granted_at),
        privacy_policy_url: client.and_then(|k| k.privacy_policy_url),
        client_id: c.client_id.to_string(),
    }
}

async fn show(State(app): State<AppState>, SignedIn(visit, params): SignedIn) -> Answer {
    let sub = visit.session.sub.clone();
    let consents = app
        .store
        .run(move |tx| applications::list(tx, &sub))
        .await?;
    let page = ApplicationsPage {
        withdraw_action: paths::ACCOUNT_WITHDRAW,
        applications: consents
            .into_iter()
            .map(|c| application(&app, visit.lang, c))
            .collect(),
    };
    let notice = done_notice(&app, visit.lang, &params);
    let section = paths::ACCOUNT_APPLICATIONS;
    Ok(render(&app, visit, StatusCode::OK, section, notice, page))
}

async fn withdraw(State(app): State<AppState>, Origin(origin): Origin, posted: Posted) -> Answer {
    let back = paths::ACCOUNT_APPLICATIONS;
    let (visit, params) = posted.checked(&app, back).await?;
    let client_id = params.first("client_id").unwrap_or_default().to_owned();
    let (sub, now, clients) = (visit.session.sub.clone(), app.now(), app.clients());
    let withdrawn = app
        .store
        .run(move |tx| applications::withdraw(tx, &clients, &sub, &client_id, &origin, now))
        .await?;
    if !withdrawn {
        return Ok(not_yours(&app, visit, back));
    }
    tracing::info!("consent withdrawn from the account page");
    app.backchannel.wake();
    Ok(done(back, "withdrawn"))
}
