//! `/account/sessions`: the citizen's signed-in browsers (browser family,
//! address, started, last seen, « cette session »); end one, or all the
//! others. A session id that is not the citizen's changes nothing.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;

use super::{Answer, PageTemplate, Posted, SignedIn, done, done_notice, not_yours, render};
use crate::accounts::devices::{self, Device};
use crate::app::{App, AppState};
use crate::http::paths;
use crate::i18n::Lang;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_SESSIONS, get(show))
        .route(paths::ACCOUNT_SESSIONS_END, post(end))
        .route(paths::ACCOUNT_SESSIONS_END_OTHERS, post(end_others))
}

#[derive(Serialize)]
struct SessionsPage {
    end_action: &'static str,
    end_others_action: &'static str,
    sessions: Vec<Line>,
    others: bool,
}

#[derive(Serialize)]
struct Line {
    sid: String,
    browser: String,
    ip: String,
    started: String,
    last_seen: String,
    current: bool,
}

impl PageTemplate for SessionsPage {
    fn template(&self) -> &'static str {
        "account/sessions.html"
    }
}

/// « 30/11/2026 14:05 UTC »: a date as the pages show it.
pub fn when(lang: Lang, at: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(at) else {
        return String::new();
    };
    let (d, m, y, h, min) = (t.day(), t.month() as u8, t.year(), t.hour(), t.minute());
    match lang {
        Lang::Fr => format!("{d:02}/{m:02}/{y} {h:02}:{min:02} UTC"),
        Lang::En => format!("{y}-{m:02}-{d:02} {h:02}:{min:02} UTC"),
    }
}

fn line(app: &App, lang: Lang, d: &Device, current_sid: &str) -> Line {
    let browser = d
        .user_agent
        .as_deref()
        .and_then(devices::family)
        .map(|(b, s)| format!("{b} — {s}"))
        .unwrap_or_else(|| app.pages.text(lang, "unknown_browser"));
    Line {
        sid: d.sid.clone(),
        browser,
        ip: d.ip.clone().unwrap_or_default(),
        started: when(lang, d.created_at),
        last_seen: when(lang, devices::last_seen(d, app.config.sessions.idle_ttl)),
        current: d.sid == current_sid,
    }
}

async fn show(State(app): State<AppState>, SignedIn(visit, params): SignedIn) -> Answer {
    let (sub, now) = (visit.session.sub.clone(), app.now());
    let list = app
        .store
        .run(move |tx| devices::list(tx, &sub, now))
        .await?;
    let lines: Vec<Line> = list
        .iter()
        .map(|d| line(&app, visit.lang, d, &visit.session.sid))
        .collect();
    let page = SessionsPage {
        end_action: paths::ACCOUNT_SESSIONS_END,
        end_others_action: paths::ACCOUNT_SESSIONS_END_OTHERS,
        others: lines.iter().any(|l| !l.current),
        sessions: lines,
    };
    let notice = done_notice(&app, visit.lang, &params);
    Ok(render(
        &app,
        visit,
        StatusCode::OK,
        paths::ACCOUNT_SESSIONS,
        notice,
        page,
    ))
}

async fn end(State(app): State<AppState>, posted: Posted) -> Answer {
    let back = paths::ACCOUNT_SESSIONS;
    let (visit, params) = posted.checked(&app, back).await?;
    let sid = params.first("sid").unwrap_or_default().to_owned();
    let (sub, now, clients) = (visit.session.sub.clone(), app.now(), app.clients());
    let ended = app
        .store
        .run(move |tx| devices::end(tx, &clients, &sub, &sid, now))
        .await?;
    if !ended {
        return Ok(not_yours(&app, visit, back));
    }
    app.backchannel.wake();
    Ok(done(back, "ended"))
}

async fn end_others(State(app): State<AppState>, posted: Posted) -> Answer {
    let back = paths::ACCOUNT_SESSIONS;
    let (visit, _) = posted.checked(&app, back).await?;
    let (sub, sid, now) = (
        visit.session.sub.clone(),
        visit.session.sid.clone(),
        app.now(),
    );
    let clients = app.clients();
    app.store
        .run(move |tx| devices::end_others(tx, &clients, &sub, &sid, now))
        .await?;
    app.backchannel.wake();
    Ok(done(back, "others"))
}
