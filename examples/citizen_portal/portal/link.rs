//! « Rapprochement de votre espace personnel »: when the provider's `sub`
//! is linked to no portal account, the citizen either signs in with the
//! portal's own identifiant and mot de passe (the account is then linked)
//! or creates a new espace prefilled from the claims; then « Votre espace a
//! bien été activé ».

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use super::error::{PortalError, Result};
use super::handlers::{banner, display_name};
use super::rp::Identity;
use super::session::{self, SESSION_TTL, Session};
use super::{Portal, State as PortalState, db, paths, throttle};

/// The session of a signed-in citizen not linked yet; otherwise where to go.
async fn unlinked(
    portal: &Portal,
    jar: &CookieJar,
) -> Result<std::result::Result<Session, Response>> {
    Ok(match session::current(portal, jar).await? {
        Some(s) if s.data.identity.is_some() && s.data.account_id.is_none() => Ok(s),
        Some(s) if s.data.account_id.is_some() => Err(Redirect::to(paths::ACCOUNT).into_response()),
        _ => Err(Redirect::to(paths::HOME).into_response()),
    })
}

fn identity(session: &Session) -> Result<&Identity> {
    session
        .data
        .identity
        .as_ref()
        .ok_or_else(|| PortalError::Internal("session without identity".into()))
}

#[derive(Serialize)]
struct ChoicesPage {
    name: String,
    email: String,
    csrf: String,
    identifiant: String,
    error: Option<String>,
}

fn choices_page(
    portal: &Portal,
    session: &Session,
    identifiant: &str,
    error: Option<&'static str>,
) -> Result<Response> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_choices(
        portal,
        session,
        identifiant,
        error.map(str::to_owned),
        status,
    )
}

/// 429 with `Retry-After`: too many wrong portal passwords lately.
fn throttled_page(
    portal: &Portal,
    session: &Session,
    identifiant: &str,
    wait: i64,
) -> Result<Response> {
    let when = if wait < 120 {
        format!("{wait} secondes")
    } else {
        format!("{} minutes", (wait + 59) / 60)
    };
    let error = format!(
        "Trop de tentatives ont échoué. Par sécurité, réessayez dans {when}. \
         Vous pouvez aussi créer un nouvel espace personnel."
    );
    let status = StatusCode::TOO_MANY_REQUESTS;
    let page = render_choices(portal, session, identifiant, Some(error), status)?;
    Ok(([(header::RETRY_AFTER, wait.to_string())], page).into_response())
}

fn render_choices(
    portal: &Portal,
    session: &Session,
    identifiant: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let identity = identity(session)?;
    let page = ChoicesPage {
        name: display_name(&identity.claims),
        email: identity.claims.email.clone().unwrap_or_default(),
        csrf: session.data.csrf.clone(),
        identifiant: identifiant.to_owned(),
        error,
    };
    Ok(portal
        .pages
        .render(status, "rapprochement.html", &banner(Some(session)), page))
}

/// `GET /rapprochement`: the two choices.
pub async fn choices(State(portal): State<PortalState>, jar: CookieJar) -> Result<Response> {
    match unlinked(&portal, &jar).await? {
        Ok(session) => choices_page(&portal, &session, "", None),
        Err(go) => Ok(go),
    }
}

#[derive(Deserialize)]
pub struct ExistingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifiant: String,
    #[serde(default)]
    mot_de_passe: String,
}

/// `POST /rapprochement/lier`: « J'ai déjà un compte et je me connecte avec
/// mes identifiants ».
pub async fn existing(
    State(portal): State<PortalState>,
    jar: CookieJar,
    Form(form): Form<ExistingForm>,
) -> Result<Response> {
    let mut session = match unlinked(&portal, &jar).await? {
        Ok(s) => s,
        Err(go) => return Ok(go),
    };
    if !session.csrf_ok(&form.csrf) {
        return Err(PortalError::BadRequest(
            "Formulaire expiré : veuillez réessayer.",
        ));
    }
    let identifiant = form.identifiant.trim().to_owned();
    if identifiant.is_empty() || form.mot_de_passe.is_empty() {
        return choices_page(
            &portal,
            &session,
            &identifiant,
            Some("Saisissez votre identifiant et votre mot de passe."),
        );
    }
    // Checked and counted in the job that looks the account up, so that
    // concurrent guesses cannot all pass before the first one is counted.
    let (lookup, now) = (identifiant.clone(), portal.now());
    let keys = throttle::keys(&identifiant, &identity(&session)?.sub);
    let counted = keys.clone();
    let account = if identifiant.len() <= 100 && form.mot_de_passe.len() <= 1024 {
        let found = portal
            .db
            .run(move |c| {
                if let Some(wait) = throttle::blocked(c, &counted, now)? {
                    return Ok(Err(wait));
                }
                throttle::fail(c, &counted, now)?;
                db::by_identifiant(c, &lookup).map(Ok)
            })
            .await?;
        match found {
            Ok(account) => account,
            Err(wait) => return throttled_page(&portal, &session, &identifiant, wait),
        }
    } else {
        None
    };
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let ok = db::verify_password(hash, &form.mot_de_passe).await;
    let Some(account) = account.filter(|_| ok) else {
        return choices_page(
            &portal,
            &session,
            &identifiant,
            Some("Identifiant ou mot de passe incorrect."),
        );
    };
    let sub = identity(&session)?.sub.clone();
    let id = account.id;
    let linked = portal
        .db
        .run(move |c| {
            throttle::clear(c, &keys)?;
            db::link(c, id, &sub)
        })
        .await?;
    if !linked {
        return choices_page(
            &portal,
            &session,
            &identifiant,
            Some(
                "Cet espace personnel est déjà lié à une autre identité du fournisseur d'identité.",
            ),
        );
    }
    session.data.account_id = Some(account.id);
    session::save(&portal, &session, SESSION_TTL).await?;
    Ok(Redirect::to(paths::ACTIVATED).into_response())
}

#[derive(Serialize, Deserialize, Default)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    civilite: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    prenom: String,
    #[serde(default)]
    courriel: String,
    #[serde(default)]
    telephone: String,
    #[serde(default)]
    identifiant: String,
    #[serde(default)]
    cgu: Option<String>,
}

#[derive(Serialize)]
struct CreatePage<'a> {
    form: &'a CreateForm,
    errors: BTreeMap<&'static str, &'static str>,
}

fn create_page(
    portal: &Portal,
    session: &Session,
    form: &CreateForm,
    errors: BTreeMap<&'static str, &'static str>,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    portal.pages.render(
        status,
        "creer.html",
        &banner(Some(session)),
        CreatePage { form, errors },
    )
}

/// An identifiant suggested from the email's local part.
fn suggest_identifiant(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(50)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `GET /rapprochement/creer`: « Je crée un nouvel espace personnel »,
/// prefilled from the claims.
pub async fn create_form(State(portal): State<PortalState>, jar: CookieJar) -> Result<Response> {
    let session = match unlinked(&portal, &jar).await? {
        Ok(s) => s,
        Err(go) => return Ok(go),
    };
    let claims = &identity(&session)?.claims;
    let email = claims.email.clone().unwrap_or_default();
    let form = CreateForm {
        civilite: match claims.gender.as_deref() {
            Some("female") => "Mme".into(),
            Some("male") => "M.".into(),
            _ => String::new(),
        },
        nom: claims
            .family_name
            .clone()
            .unwrap_or_default()
            .to_uppercase(),
        prenom: claims.given_name.clone().unwrap_or_default(),
        identifiant: suggest_identifiant(&email),
        courriel: email,
        telephone: claims.phone_number.clone().unwrap_or_default(),
        ..CreateForm::default()
    };
    Ok(create_page(&portal, &session, &form, BTreeMap::new()))
}

/// Every rule the form breaks, by field.
fn check(form: &CreateForm) -> BTreeMap<&'static str, &'static str> {
    let mut errors = BTreeMap::new();
    if !matches!(form.civilite.as_str(), "Mme" | "M.") {
        errors.insert("civilite", "Choisissez votre civilité.");
    }
    let text_ok = |s: &str| !s.trim().is_empty() && s.len() <= 100;
    if !text_ok(&form.nom) {
        errors.insert("nom", "Saisissez votre nom (100 caractères au plus).");
    }
    if !text_ok(&form.prenom) {
        errors.insert("prenom", "Saisissez votre prénom (100 caractères au plus).");
    }
    let email = form.courriel.trim();
    if email.len() > 254
        || email.split('@').count() != 2
        || email.starts_with('@')
        || email.ends_with('@')
    {
        errors.insert(
            "courriel",
            "Saisissez une adresse de courriel valide, par exemple nom@exemple.fr.",
        );
    }
    if form.telephone.len() > 30 {
        errors.insert("telephone", "Le numéro de téléphone est trop long.");
    }
    let id = form.identifiant.trim();
    let id_ok = (3..=50).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if !id_ok {
        errors.insert(
            "identifiant",
            "L'identifiant compte de 3 à 50 caractères : lettres minuscules sans accent, chiffres, point, tiret.",
        );
    }
    if form.cgu.is_none() {
        errors.insert(
            "cgu",
            "Acceptez les conditions générales d'utilisation pour créer votre espace.",
        );
    }
    errors
}

/// `POST /rapprochement/creer`.
pub async fn create(
    State(portal): State<PortalState>,
    jar: CookieJar,
    Form(form): Form<CreateForm>,
) -> Result<Response> {
    let mut session = match unlinked(&portal, &jar).await? {
        Ok(s) => s,
        Err(go) => return Ok(go),
    };
    if !session.csrf_ok(&form.csrf) {
        return Err(PortalError::BadRequest(
            "Formulaire expiré : veuillez réessayer.",
        ));
    }
    let mut errors = check(&form);
    if !errors.is_empty() {
        return Ok(create_page(&portal, &session, &form, errors));
    }
    let account = db::NewAccount {
        identifiant: form.identifiant.trim().to_owned(),
        password_hash: None,
        civilite: form.civilite.clone(),
        nom: form.nom.trim().to_owned(),
        prenom: form.prenom.trim().to_owned(),
        email: form.courriel.trim().to_owned(),
        telephone: Some(form.telephone.trim().to_owned()).filter(|t| !t.is_empty()),
        sub: Some(identity(&session)?.sub.clone()),
    };
    let now = portal.now();
    let created = portal
        .db
        .run(move |c| {
            if db::by_identifiant(c, &account.identifiant)?.is_some() {
                return Ok(None);
            }
            db::insert_account(c, &account, now).map(Some)
        })
        .await?;
    let Some(id) = created else {
        errors.insert(
            "identifiant",
            "Cet identifiant est déjà pris : choisissez-en un autre.",
        );
        return Ok(create_page(&portal, &session, &form, errors));
    };
    session.data.account_id = Some(id);
    session::save(&portal, &session, SESSION_TTL).await?;
    Ok(Redirect::to(paths::ACTIVATED).into_response())
}

#[derive(Serialize)]
struct ActivatedPage {
    name: String,
    identifiant: String,
}

/// « Votre espace a bien été activé pour le nom d'utilisateur : … ».
pub async fn activated(State(portal): State<PortalState>, jar: CookieJar) -> Result<Response> {
    let Some(session) = session::current(&portal, &jar).await? else {
        return Ok(Redirect::to(paths::HOME).into_response());
    };
    let (Some(id), Some(identity)) = (session.data.account_id, session.data.identity.as_ref())
    else {
        return Ok(Redirect::to(paths::LINK).into_response());
    };
    let Some(account) = portal.db.run(move |c| db::by_id(c, id)).await? else {
        return Err(PortalError::Internal("linked account vanished".into()));
    };
    let page = ActivatedPage {
        name: display_name(&identity.claims),
        identifiant: account.identifiant,
    };
    Ok(portal
        .pages
        .render(StatusCode::OK, "active.html", &banner(Some(&session)), page))
}
