//! What the account pages (sign-up, verification, reset) share: the
//! pending request and language of a visit, the browser cookie that
//! pending requests and links are bound to, the mail context, and the page
//! that shows a message with an optional one-button form.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;
use serde::Serialize;

use super::error::Internal;
use super::pages::Render;
use super::{cookies, flow, lang, paths};
use crate::accounts::links::{Limit, MailContext};
use crate::accounts::signup::{Field, Problem};
use crate::app::App;
use crate::i18n::Lang;
use crate::oidc::authorize::AuthRequest;
use crate::oidc::params::Params;
use crate::secrets;

/// Long enough that a request or a link never outlives the browser
/// cookie in practice (both live an hour at most by default).
const BROWSER_COOKIE_DAYS: i64 = 30;

/// A visit to an account page: its language and pending request.
pub struct Visit {
    pub jar: CookieJar,
    pub lang: Lang,
    pub pending: Option<(String, AuthRequest)>,
}

impl Visit {
    pub fn interaction(&self) -> Option<String> {
        self.pending.as_ref().map(|(id, _)| id.clone())
    }

    pub fn client_name(&self, app: &App) -> Option<String> {
        let (_, req) = self.pending.as_ref()?;
        app.clients().get(&req.client_id).map(|c| c.name.clone())
    }

    /// `?interaction=…` to carry the pending request to another page.
    pub fn query(&self) -> String {
        self.pending
            .as_ref()
            .map(|(id, _)| format!("?interaction={id}"))
            .unwrap_or_default()
    }
}

/// Reads the pending request named by `params` (if any) and the language.
/// An unknown or expired request, or one of another browser, gives the
/// « demande expirée » page instead.
pub async fn visit(
    app: &App,
    jar: CookieJar,
    headers: &HeaderMap,
    params: &Params,
    explicit_lang: bool,
) -> Result<Result<Visit, Response>, Internal> {
    let id = params.first("interaction").filter(|id| !id.is_empty());
    let pending = match id {
        Some(id) => flow::load(app, &jar, id)
            .await?
            .map(|(req, _)| Some((id.to_owned(), req))),
        None => Some(None),
    };
    let ui_locales = pending
        .as_ref()
        .and_then(|p| p.as_ref())
        .and_then(|(_, r)| r.ui_locales.clone());
    let explicit = if explicit_lang {
        params.first("lang")
    } else {
        None
    };
    let (jar, lang) = lang::choose(jar, headers, explicit, ui_locales.as_deref());
    Ok(match pending {
        Some(pending) => Ok(Visit { jar, lang, pending }),
        None => Err(axum::response::IntoResponse::into_response((
            jar,
            flow::expired(app, lang),
        ))),
    })
}

/// The pending request `id`, if it still waits and belongs to this browser.
pub async fn resume(
    app: &App,
    jar: &CookieJar,
    id: Option<&str>,
) -> Result<Option<(String, AuthRequest)>, Internal> {
    let Some(id) = id else { return Ok(None) };
    Ok(flow::load(app, jar, id)
        .await?
        .map(|(req, _)| (id.to_owned(), req)))
}

/// This browser's cookie (created if needed) and its digest: pending
/// requests and the links it asked for are bound to that digest, so that a
/// request id or a link is worth something only in the browser it
/// belongs to.
pub fn browser_cookie(jar: CookieJar, https: bool) -> (CookieJar, String) {
    if let Some(digest) = browser_digest(&jar, https) {
        return (jar, digest);
    }
    let value = secrets::token();
    let digest = secrets::digest(&value);
    let mut cookie = cookies::build(cookies::BROWSER, value, https, SameSite::Lax);
    cookie.set_max_age(time::Duration::days(BROWSER_COOKIE_DAYS));
    (jar.add(cookie), digest)
}

/// The digest of this browser's cookie, if it sent a well-formed one.
pub fn browser_digest(jar: &CookieJar, https: bool) -> Option<String> {
    cookies::token(jar, cookies::BROWSER, https).map(|v| secrets::digest(&v))
}

pub use super::client_ip::ClientIp;

/// Where a request comes from, for the audit trail: the client address
/// (as [`ClientIp`] finds it) and the `User-Agent` header.
#[derive(Debug, Clone)]
pub struct Origin(pub crate::accounts::audit::Origin);

impl axum::extract::FromRequestParts<crate::app::AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::app::AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(address) = ClientIp::from_request_parts(parts, state).await?;
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Origin(crate::accounts::audit::Origin::new(
            Some(address),
            agent,
        )))
    }
}

/// The mail context of a request from `peer`.
pub fn mail_context(
    app: &App,
    peer: ClientIp,
    lang: Lang,
    interaction: Option<String>,
    browser: Option<String>,
) -> MailContext {
    let policy = &app.config.policy;
    MailContext {
        ip: crate::accounts::throttle::requester(&peer.0),
        lang,
        interaction,
        browser,
        ttl_seconds: policy.verification_ttl_seconds,
        limits: policy.mail_limits,
        verify_url: format!("{}{}?token=", app.config.issuer, paths::VERIFY),
        reset_url: format!("{}{}?token=", app.config.issuer, paths::RESET),
    }
}

/// After a mail was queued: wake the worker; with the outbox transport,
/// log the link so that a newcomer without a mail server can follow it.
pub fn queued(app: &App, link: Option<&str>) {
    app.mailer.queued();
    if let Some(link) = link
        && app.mailer.logs_links()
    {
        tracing::info!(%link, "mail written to the outbox; open this link to continue");
    }
}

/// The message for a limit that was hit.
pub fn limit_message(app: &App, lang: Lang, limit: Limit) -> String {
    app.pages.text(
        lang,
        match limit {
            Limit::Address => "limit_address",
            Limit::Ip => "limit_ip",
        },
    )
}

/// A short status line above a message page.
#[derive(Serialize, Clone)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

impl Notice {
    pub fn info(text: String) -> Option<Notice> {
        Some(Notice { text, error: false })
    }

    pub fn error(text: String) -> Option<Notice> {
        Some(Notice { text, error: true })
    }
}

/// A one-button form (« Cliquez ici pour renvoyer le courriel »).
#[derive(Serialize)]
pub struct Button {
    pub action: &'static str,
    pub fields: Vec<(&'static str, String)>,
    pub question: Option<String>,
    pub label: String,
}

/// A message page (`form_message.html`).
#[derive(Serialize, Default)]
pub struct MessagePage {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub notice: Option<Notice>,
    pub button: Option<Button>,
    pub link_href: Option<String>,
    pub link_label: String,
}

/// Renders a message page, with a CSRF token for its button.
pub fn message(
    app: &App,
    jar: CookieJar,
    lang: Lang,
    status: StatusCode,
    here: &str,
    page: MessagePage,
) -> Response {
    #[derive(Serialize)]
    struct WithCsrf {
        csrf: String,
        #[serde(flatten)]
        page: MessagePage,
    }
    let (jar, csrf) = super::csrf::token(app, jar);
    let body = app.pages.render(
        status,
        "form_message.html",
        lang,
        here,
        WithCsrf { csrf, page },
    );
    axum::response::IntoResponse::into_response((jar, body))
}

/// The password hint of the policy: « Au moins 8 caractères, dont … ».
pub fn password_hint(app: &App, lang: Lang) -> String {
    use crate::config::CharClass;
    let policy = &app.config.policy;
    let t = |k| app.pages.text(lang, k);
    let classes: Vec<String> = policy
        .password_require
        .iter()
        .map(|c| {
            t(match c {
                CharClass::Lower => "password_hint_lower",
                CharClass::Upper => "password_hint_upper",
                CharClass::Digit => "password_hint_digit",
                CharClass::Symbol => "password_hint_symbol",
            })
        })
        .collect();
    let mut hint =
        t("password_hint_length").replace("{n}", &policy.password_min_length.to_string());
    if !classes.is_empty() {
        hint = format!("{hint}{}{}", t("password_hint_with"), classes.join(", "));
    }
    format!("{hint}. {}", t("password_hint_avoid"))
}

/// The strength indicator of a new-password field (`_strength.html`): the
/// rules of the configured policy, in words, and where its script is.
#[derive(Serialize, Default)]
pub struct Strength {
    pub script: String,
    pub rules: Vec<StrengthRule>,
}

/// One rule the indicator ticks; `id` is what static/strength.js checks.
#[derive(Serialize)]
pub struct StrengthRule {
    pub id: &'static str,
    pub label: String,
    pub figure: Option<usize>,
}

/// The indicator of `[policy]`: its length, its character classes, and
/// the common-password list that every policy checks.
pub fn strength(app: &App, lang: Lang) -> Strength {
    use crate::config::CharClass;
    let policy = &app.config.policy;
    let t = |k| app.pages.text(lang, k);
    let min = policy.password_min_length;
    let mut rules = vec![StrengthRule {
        id: "length",
        label: t("password_hint_length").replace("{n}", &min.to_string()),
        figure: Some(min),
    }];
    rules.extend(policy.password_require.iter().map(|c| {
        let (id, key) = match c {
            CharClass::Lower => ("lower", "password_hint_lower"),
            CharClass::Upper => ("upper", "password_hint_upper"),
            CharClass::Digit => ("digit", "password_hint_digit"),
            CharClass::Symbol => ("symbol", "password_hint_symbol"),
        };
        StrengthRule {
            id,
            label: t(key),
            figure: None,
        }
    }));
    rules.push(StrengthRule {
        id: "common",
        label: t("strength_rule_common"),
        figure: None,
    });
    Strength {
        script: super::assets::strength_src().to_owned(),
        rules,
    }
}

/// What the citizen typed (never the passwords).
#[derive(Serialize, Default, Clone)]
pub struct Values {
    pub civilite: String,
    pub family_name: String,
    pub given_name: String,
    pub email: String,
}

/// The messages of each field (empty when it is fine).
#[derive(Serialize, Default)]
pub struct FieldErrors {
    pub civilite: Vec<String>,
    pub family_name: Vec<String>,
    pub given_name: Vec<String>,
    pub email: Vec<String>,
    pub password: Vec<String>,
    pub password_confirm: Vec<String>,
}

/// One line of the error summary, linking to its field.
#[derive(Serialize)]
pub struct SummaryItem {
    pub field: &'static str,
    pub label: String,
    pub message: String,
}

/// A form's state: values kept, messages per field and in the summary.
#[derive(Serialize, Default)]
pub struct FormState {
    pub values: Values,
    pub errors: FieldErrors,
    pub problems: Vec<SummaryItem>,
    pub password_hint: String,
    pub strength: Strength,
}

impl FormState {
    pub fn new(app: &App, lang: Lang, values: Values, problems: &[Problem]) -> FormState {
        let mut state = FormState {
            values,
            password_hint: password_hint(app, lang),
            strength: strength(app, lang),
            ..FormState::default()
        };
        for p in problems {
            let message = app
                .pages
                .text(lang, p.key)
                .replace("{n}", &p.figure.unwrap_or_default().to_string());
            let (slot, label) = match p.field {
                Field::Civilite => (&mut state.errors.civilite, "civilite"),
                Field::FamilyName => (&mut state.errors.family_name, "family_name"),
                Field::GivenName => (&mut state.errors.given_name, "given_name"),
                Field::Email => (&mut state.errors.email, "email"),
                Field::Password => (&mut state.errors.password, "password"),
                Field::Confirm => (&mut state.errors.password_confirm, "password_confirm"),
            };
            slot.push(message.clone());
            state.problems.push(SummaryItem {
                field: p.field.name(),
                label: app.pages.text(lang, label),
                message,
            });
        }
        state
    }
}

/// The policy's verdict on a new password and its confirmation, off the
/// executor (the estimator takes a few milliseconds).
pub async fn new_password_problems(
    app: &App,
    email: &str,
    names: [Option<String>; 2],
    password: &str,
    confirm: &str,
) -> Result<Vec<Problem>, Internal> {
    let policy = app.config.policy.clone();
    let (email, password, confirm) = (email.to_owned(), password.to_owned(), confirm.to_owned());
    tokio::task::spawn_blocking(move || {
        let personal = crate::accounts::policy::Personal {
            email: &email,
            names: names.iter().flatten().map(String::as_str).collect(),
        };
        crate::accounts::signup::password_and_confirmation(&policy, &password, &confirm, &personal)
    })
    .await
    .map_err(|e| Internal(e.to_string()))
}
