//! `/account/profile`: the profile form (civilité, names, birth date,
//! phone, address), every problem on its field, nothing saved unless all
//! is right; `updated_at` moves so services see the change.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::{Answer, Errors, PageTemplate, Posted, SignedIn, Visit, done, done_notice, render};
use crate::accounts::profile::{self, Problem, ProfileForm, Saved};
use crate::app::{App, AppState};
use crate::http::forms::Notice;
use crate::http::paths;
use crate::oidc::params::Params;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::ACCOUNT_PROFILE, get(show).post(save))
}

#[derive(Serialize)]
struct ProfilePage {
    action: &'static str,
    email_href: &'static str,
    values: Values,
    errors: Errors,
}

/// What the form shows (typed or stored).
#[derive(Serialize)]
struct Values {
    civilite: String,
    family_name: String,
    preferred_username: String,
    given_name: String,
    birthdate: String,
    phone_number: String,
    street_address: String,
    postal_code: String,
    locality: String,
    country: String,
}

impl From<ProfileForm> for Values {
    fn from(f: ProfileForm) -> Values {
        Values {
            civilite: f.civilite,
            family_name: f.family_name,
            preferred_username: f.preferred_username,
            given_name: f.given_name,
            birthdate: f.birthdate,
            phone_number: f.phone_number,
            street_address: f.street_address,
            postal_code: f.postal_code,
            locality: f.locality,
            country: f.country,
        }
    }
}

impl PageTemplate for ProfilePage {
    fn template(&self) -> &'static str {
        "account/profile.html"
    }
}

fn form_of(params: &Params) -> ProfileForm {
    let f = |k| params.first(k).unwrap_or_default().to_owned();
    ProfileForm {
        civilite: f("civilite"),
        family_name: f("family_name"),
        preferred_username: f("preferred_username"),
        given_name: f("given_name"),
        birthdate: f("birthdate"),
        phone_number: f("phone_number"),
        street_address: f("street_address"),
        postal_code: f("postal_code"),
        locality: f("locality"),
        country: f("country"),
    }
}

/// The page with `form` in it (and `problems` on its fields).
struct Shown {
    form: ProfileForm,
    problems: Vec<Problem>,
    notice: Option<Notice>,
    status: StatusCode,
}

fn page(app: &App, visit: Visit, shown: Shown) -> Response {
    let page = ProfilePage {
        action: paths::ACCOUNT_PROFILE,
        email_href: paths::ACCOUNT_EMAIL,
        values: shown.form.into(),
        errors: Errors::of(app, visit.lang, &shown.problems),
    };
    let (status, notice) = (shown.status, shown.notice);
    render(app, visit, status, paths::ACCOUNT_PROFILE, notice, page)
}

async fn show(State(app): State<AppState>, SignedIn(visit, params): SignedIn) -> Answer {
    let shown = Shown {
        form: ProfileForm::of(&profile::of_user(&visit.user)),
        problems: vec![],
        notice: done_notice(&app, visit.lang, &params),
        status: StatusCode::OK,
    };
    Ok(page(&app, visit, shown))
}

async fn save(State(app): State<AppState>, posted: Posted) -> Answer {
    let back = paths::ACCOUNT_PROFILE;
    let (visit, params) = posted.checked(&app, back).await?;
    let (form, sub, now) = (form_of(&params), visit.session.sub.clone(), app.now());
    let typed = form.clone();
    let saved = app
        .store
        .run(move |tx| profile::save(tx, &sub, &typed, now))
        .await?;
    Ok(match saved {
        Saved::Done => done(back, "saved"),
        Saved::Invalid(problems) => {
            let shown = Shown {
                form,
                problems,
                notice: None,
                status: StatusCode::UNPROCESSABLE_ENTITY,
            };
            page(&app, visit, shown)
        }
    })
}
