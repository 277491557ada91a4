//! `/account/security/totp…`: the second factor's own pages. Its state
//! (on since, recovery codes left); enrolment in two steps (« Activer »
//! stores a key and shows it as a QR code and as text in groups of four;
//! the first right code turns it on and shows the ten recovery codes,
//! once); a new set of recovery codes; turning it off (password and a
//! code). Every action needs a recent sign-in (`stale`). A pending
//! authorization request whose client requires a second factor rides
//! along (`?interaction=`), so the citizen goes back to it at the end.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;

use super::{
    Answer, Errors, PageTemplate, Posted, SignedIn, Visit, done, form_status, fresh, render,
    with_wait,
};
use crate::accounts::profile::Problem;
use crate::accounts::totp::{
    self, Attempt, Begun, Confirmed, Enrolment, Status, TurnOff, TurnedOff,
};
use crate::app::{App, AppState};
use crate::http::error::Internal;
use crate::http::forms::{ClientIp, Notice, Origin};
use crate::http::session::Renewal;
use crate::http::{flow, paths};
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT_TOTP, get(show))
        .route(paths::ACCOUNT_TOTP_ENROL, post(enrol))
        .route(paths::ACCOUNT_TOTP_CONFIRM, post(confirm))
        .route(paths::ACCOUNT_TOTP_CODES, post(regenerate))
        .route(paths::ACCOUNT_TOTP_DISABLE, post(disable))
}

/// The pending authorization request riding along, if it is this
/// browser's and still there: its id and its client's name.
#[derive(Serialize, Clone, Default)]
struct Guided {
    interaction: String,
    client_name: Option<String>,
    /// Its client, for the audit trail.
    #[serde(skip)]
    client_id: Option<String>,
}

async fn guided(app: &App, visit: &Visit, params: &Params) -> Result<Guided, Internal> {
    let Some(id) = params.first("interaction").filter(|id| !id.is_empty()) else {
        return Ok(Guided::default());
    };
    Ok(match flow::load(app, &visit.jar, id).await? {
        Some((req, _)) => Guided {
            interaction: id.to_owned(),
            client_name: app.clients().get(&req.client_id).map(|c| c.name.clone()),
            client_id: Some(req.client_id.to_string()),
        },
        None => Guided::default(),
    })
}

/// This page's address, the pending request included (for the password
/// page to come back to).
fn here(guided: &Guided) -> String {
    match guided.interaction.as_str() {
        "" => paths::ACCOUNT_TOTP.to_owned(),
        id => format!("{}?interaction={id}", paths::ACCOUNT_TOTP),
    }
}

#[derive(Serialize)]
struct ManagePage {
    on: bool,
    since: String,
    codes_left: i64,
    guided: Guided,
    enrol_action: &'static str,
    codes_action: &'static str,
    disable_action: &'static str,
    errors: Errors,
}

impl PageTemplate for ManagePage {
    fn template(&self) -> &'static str {
        "account/totp.html"
    }
}

fn manage(
    app: &App,
    visit: Visit,
    state: Status,
    guided: Guided,
    notice: Option<Notice>,
    problems: &[Problem],
) -> Response {
    let status = form_status(problems, StatusCode::UNPROCESSABLE_ENTITY);
    let page = ManagePage {
        on: state.since.is_some(),
        since: state
            .since
            .map(|at| super::sessions::when(visit.lang, at))
            .unwrap_or_default(),
        codes_left: state.codes_left,
        guided,
        enrol_action: paths::ACCOUNT_TOTP_ENROL,
        codes_action: paths::ACCOUNT_TOTP_CODES,
        disable_action: paths::ACCOUNT_TOTP_DISABLE,
        errors: Errors::of(app, visit.lang, problems),
    };
    render(app, visit, status, paths::ACCOUNT_SECURITY, notice, page)
}

async fn status_of(app: &App, visit: &Visit) -> Result<Status, Internal> {
    let sub = visit.session.sub.clone();
    Ok(app.store.run(move |tx| totp::status(tx, &sub)).await?)
}

async fn show(State(app): State<AppState>, SignedIn(visit, params): SignedIn) -> Answer {
    let guided = guided(&app, &visit, &params).await?;
    fresh(&app, &visit, &here(&guided))?;
    let state = status_of(&app, &visit).await?;
    Ok(manage(&app, visit, state, guided, None, &[]))
}

#[derive(Serialize)]
struct EnrolPage {
    qr_svg: String,
    key: String,
    confirm_action: &'static str,
    guided: Guided,
    errors: Errors,
}

impl PageTemplate for EnrolPage {
    fn template(&self) -> &'static str {
        "account/totp_enrol.html"
    }
}

fn enrol_page(
    app: &App,
    visit: Visit,
    e: &Enrolment,
    guided: Guided,
    problem: Option<Problem>,
    status: StatusCode,
) -> Response {
    let issuer = app.pages.text(visit.lang, "site_name");
    let alt = app.pages.text(visit.lang, "totp_qr_alt");
    let page = EnrolPage {
        qr_svg: qr_svg(&e.uri(&issuer, &visit.user.email), &alt),
        key: e.grouped(),
        confirm_action: paths::ACCOUNT_TOTP_CONFIRM,
        guided,
        errors: Errors::of(app, visit.lang, problem.as_slice()),
    };
    render(app, visit, status, paths::ACCOUNT_SECURITY, None, page)
}

/// The `otpauth://` URI as an inline SVG QR code (made here, never by a
/// third-party service), named by `alt` for screen readers.
fn qr_svg(uri: &str, alt: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let svg = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest);
    let alt = alt.replace('&', "&amp;").replace('<', "&lt;");
    svg.replacen(
        "<svg ",
        "<svg role=\"img\" aria-labelledby=\"qr-title\" class=\"qr\" ",
        1,
    )
    .replacen(
        "shape-rendering=\"crispEdges\">",
        &format!("shape-rendering=\"crispEdges\"><title id=\"qr-title\">{alt}</title>"),
        1,
    )
}

async fn enrol(State(app): State<AppState>, posted: Posted) -> Answer {
    let (visit, params) = posted.checked(&app, paths::ACCOUNT_SECURITY).await?;
    let guided = guided(&app, &visit, &params).await?;
    fresh(&app, &visit, &here(&guided))?;
    let (sub, now) = (visit.session.sub.clone(), app.now());
    let begun = app.store.run(move |tx| totp::begin(tx, &sub, now)).await?;
    Ok(match begun {
        Begun::Started(e) => enrol_page(&app, visit, &e, guided, None, StatusCode::OK),
        Begun::AlreadyOn => flow::see_other(&here(&guided)),
    })
}

fn attempt(app: &App, client: String, origin: Origin, visit: &Visit, guided: &Guided) -> Attempt {
    let Origin(audit) = origin;
    let service = guided.client_id.clone();
    crate::http::mfa::attempt(app, client, audit, service, visit.lang)
}

async fn confirm(
    State(app): State<AppState>,
    ClientIp(client): ClientIp,
    origin: Origin,
    posted: Posted,
) -> Answer {
    let (visit, params) = posted.checked(&app, paths::ACCOUNT_SECURITY).await?;
    let guided = guided(&app, &visit, &params).await?;
    fresh(&app, &visit, &here(&guided))?;
    let typed = params.first("code").unwrap_or_default().to_owned();
    let attempt = attempt(&app, client, origin, &visit, &guided);
    let (renewal, session, now) = (Renewal::new(), visit.session.clone(), app.now());
    let rotate = renewal.digest.clone();
    let confirmed = app
        .store
        .run(move |tx| totp::enable(tx, &session, &typed, &attempt, &rotate, now))
        .await?;
    Ok(confirmed_page(&app, visit, guided, confirmed, renewal))
}

/// The recovery codes once the factor is on; the key again otherwise.
fn confirmed_page(
    app: &App,
    mut visit: Visit,
    guided: Guided,
    confirmed: Confirmed,
    renewal: Renewal,
) -> Response {
    let (e, problem, wait) = match confirmed {
        Confirmed::Enabled(codes) => {
            app.mailer.queued();
            visit.jar = renewal.into_jar(app, visit.jar);
            return codes_page(app, visit, codes, guided);
        }
        Confirmed::NotStarted => return flow::see_other(&here(&guided)),
        Confirmed::Wrong(e) => (e, "code_refused", None),
        Confirmed::Throttled {
            enrolment,
            retry_after,
        } => (enrolment, "code_throttled", Some(retry_after)),
    };
    let problem = Some(Problem::on("code", problem));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    with_wait(enrol_page(app, visit, &e, guided, problem, status), wait)
}

#[derive(Serialize)]
struct CodesPage {
    codes: Vec<String>,
    download_href: String,
    continue_href: String,
    guided: Guided,
    print_script: &'static str,
}

impl PageTemplate for CodesPage {
    fn template(&self) -> &'static str {
        "account/recovery_codes.html"
    }
}

/// The recovery codes, shown this once: a text file to download, a button
/// to print, and the way on (back to the pending request, or the page).
fn codes_page(app: &App, visit: Visit, codes: Vec<String>, guided: Guided) -> Response {
    let title = app.pages.text(visit.lang, "recovery_codes_file_title");
    let text = format!("{title}\n{}\n\n{}\n", visit.user.email, codes.join("\n"));
    let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let continue_href = match guided.interaction.as_str() {
        "" => paths::ACCOUNT_TOTP.to_owned(),
        id => format!("{}?interaction={id}", paths::SECOND_FACTOR),
    };
    let page = CodesPage {
        codes,
        download_href: format!(
            "data:text/plain;charset=utf-8,{}",
            encoded.replace('+', "%20")
        ),
        continue_href,
        guided,
        print_script: paths::PRINT_SCRIPT,
    };
    render(
        app,
        visit,
        StatusCode::OK,
        paths::ACCOUNT_SECURITY,
        None,
        page,
    )
}

async fn regenerate(State(app): State<AppState>, Origin(origin): Origin, posted: Posted) -> Answer {
    let back = paths::ACCOUNT_TOTP;
    let (visit, _) = posted.checked(&app, back).await?;
    fresh(&app, &visit, back)?;
    let (sub, now) = (visit.session.sub.clone(), app.now());
    let renewed = app
        .store
        .run(move |tx| totp::regenerate(tx, &sub, &origin, now))
        .await?;
    Ok(match renewed {
        Some(codes) => codes_page(&app, visit, codes, Guided::default()),
        None => flow::see_other(back),
    })
}

async fn disable(
    State(app): State<AppState>,
    ClientIp(client): ClientIp,
    origin: Origin,
    posted: Posted,
) -> Answer {
    let back = paths::ACCOUNT_TOTP;
    let (visit, params) = posted.checked(&app, back).await?;
    fresh(&app, &visit, back)?;
    let field = |k| params.first(k).unwrap_or_default().to_owned();
    let form = TurnOff {
        password: field("password"),
        answer: field("code"),
        attempt: attempt(&app, client, origin, &visit, &Guided::default()),
    };
    let outcome = totp::turn_off(&app.store, &app.hasher, &visit.session, form, app.now()).await?;
    turned_off(&app, visit, outcome).await
}

/// Back to the security page once off; the form again otherwise.
async fn turned_off(app: &App, visit: Visit, outcome: TurnedOff) -> Answer {
    let (problem, wait) = match outcome {
        TurnedOff::Done | TurnedOff::NotOn => {
            app.mailer.queued();
            return Ok(done(paths::ACCOUNT_SECURITY, "totp_off"));
        }
        TurnedOff::WrongPassword(None) => (Problem::on("password", "reauth_failed"), None),
        TurnedOff::WrongPassword(Some(wait)) => {
            (super::throttled_problem("password", wait), Some(wait))
        }
        TurnedOff::WrongCode(None) => (Problem::on("code", "code_refused"), None),
        TurnedOff::WrongCode(Some(wait)) => (Problem::on("code", "code_throttled"), Some(wait)),
    };
    let state = status_of(app, &visit).await?;
    let page = manage(app, visit, state, Guided::default(), None, &[problem]);
    // Throttled: 429 with `Retry-After`, like every throttled answer.
    Ok(with_wait(page, wait))
}
