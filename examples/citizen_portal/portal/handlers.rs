//! The portal's pages around the sign-in: home, « Se connecter » (to the
//! provider), the callback, « Mon compte », « Se déconnecter », and the
//! static bits. Rapprochement lives in `link.rs`.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::error::{PortalError, Result};
use super::pages::{Banner, Message};
use super::rp::{Claims, RpError};
use super::session::{self, PENDING_TTL, SESSION_TTL, Session, SessionData};
use super::{Portal, State as PortalState, db, paths};

/// Claims older than this are fetched again from userinfo.
pub const CLAIMS_MAX_AGE: i64 = 300;

/// « Mme Nathalie TEST »: civilité from `gender`, given name, family name.
pub fn display_name(c: &Claims) -> String {
    let civilite = match c.gender.as_deref() {
        Some("female") => "Mme ",
        Some("male") => "M. ",
        _ => "",
    };
    match (&c.given_name, &c.family_name) {
        (Some(g), Some(f)) => format!("{civilite}{g} {}", f.to_uppercase()),
        (Some(n), None) | (None, Some(n)) => format!("{civilite}{n}"),
        (None, None) => c
            .preferred_username
            .clone()
            .or_else(|| c.email.clone())
            .unwrap_or_else(|| "citoyen".into()),
    }
}

pub fn banner(session: Option<&Session>) -> Banner {
    match session.and_then(|s| s.data.identity.as_ref().map(|i| (s, i))) {
        Some((s, identity)) => Banner {
            name: Some(display_name(&identity.claims)),
            csrf: Some(s.data.csrf.clone()),
        },
        None => Banner::default(),
    }
}

#[derive(Deserialize)]
pub struct HomeQuery {
    deconnecte: Option<String>,
    state: Option<String>,
}

#[derive(Serialize)]
struct HomePage {
    signed_in: bool,
    signed_out: bool,
}

pub async fn home(
    State(portal): State<PortalState>,
    jar: CookieJar,
    Query(q): Query<HomeQuery>,
) -> Result<Response> {
    let session = session::current(&portal, &jar).await?;
    let signed_in = session.as_ref().is_some_and(|s| s.data.identity.is_some());
    let page = HomePage {
        signed_in,
        // Back from the provider's end_session_endpoint (it echoes our state),
        // or from a local sign-out.
        signed_out: !signed_in && (q.deconnecte.is_some() || q.state.is_some()),
    };
    Ok(portal
        .pages
        .render(StatusCode::OK, "home.html", &banner(session.as_ref()), page))
}

/// « Se connecter »: a fresh session holding state, nonce and PKCE
/// verifier, and off to the provider.
pub async fn login(State(portal): State<PortalState>, jar: CookieJar) -> Result<Response> {
    let (url, pending) = portal
        .rp
        .authorize()
        .await
        .map_err(|e| PortalError::Provider(e.to_string()))?;
    let data = SessionData {
        pending: Some(pending),
        ..SessionData::default()
    };
    let (jar, _) = session::create(&portal, jar, data, PENDING_TTL).await?;
    Ok((jar, Redirect::to(&url)).into_response())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

fn restart_page(portal: &Portal, status: StatusCode, title: &str, text: &str) -> Response {
    portal.pages.message(
        status,
        &Banner::default(),
        Message {
            title: title.into(),
            paragraphs: vec![text.into()],
            link_href: paths::LOGIN.into(),
            link_label: "Se connecter".into(),
            role: if status.is_success() {
                "status"
            } else {
                "alert"
            },
        },
    )
}

/// The provider's answer: checks `state` (and `iss`, RFC 9207), then either
/// the refusal page or the code exchange.
pub async fn callback(
    State(portal): State<PortalState>,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> Result<Response> {
    let session = session::current(&portal, &jar).await?;
    let Some((old, pending)) = session.and_then(|mut s| s.data.pending.take().map(|p| (s, p)))
    else {
        return Ok(restart_page(
            &portal,
            StatusCode::BAD_REQUEST,
            "Connexion expirée",
            "Cette demande de connexion n'est plus valable. Veuillez vous connecter à nouveau.",
        ));
    };
    let state_ok = q
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    let provider = portal
        .rp
        .provider()
        .await
        .map_err(|e| PortalError::Provider(e.to_string()))?;
    let iss_ok = match q.iss.as_deref() {
        Some(iss) => iss == portal.rp.issuer(),
        None => !provider.iss_parameter,
    };
    // The pending sign-in is used up whatever happens next.
    let jar = session::destroy(&portal, jar, &old).await?;
    if !state_ok || !iss_ok {
        return Err(PortalError::BadRequest(
            "La réponse du fournisseur d'identité ne correspond pas à votre demande de connexion.",
        ));
    }
    if let Some(error) = q.error.as_deref() {
        return Ok((jar, refused(&portal, error)).into_response());
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 512) else {
        return Err(PortalError::BadRequest("Réponse sans code d'autorisation."));
    };
    let identity = match portal.rp.finish(pending, &code, portal.now()).await {
        Ok(i) => i,
        Err(RpError::Rejected(e)) => {
            tracing::warn!(error = %e, "sign-in refused");
            return Ok((
                jar,
                restart_page(
                    &portal,
                    StatusCode::BAD_REQUEST,
                    "Connexion impossible",
                    "La connexion n'a pas pu être vérifiée. Veuillez vous connecter à nouveau.",
                ),
            )
                .into_response());
        }
        Err(e) => return Err(PortalError::Provider(e.to_string())),
    };
    let sub = identity.sub.clone();
    let account = portal.db.run(move |c| db::by_sub(c, &sub)).await?;
    let data = SessionData {
        account_id: account.as_ref().map(|a| a.id),
        identity: Some(identity),
        ..SessionData::default()
    };
    let (jar, _) = session::create(&portal, jar, data, SESSION_TTL).await?;
    let next = if account.is_some() {
        paths::ACCOUNT
    } else {
        paths::LINK
    };
    Ok((jar, Redirect::to(next)).into_response())
}

/// The page for an error the provider sent back: `access_denied` (Refuser
/// on the consent page) is a choice, not a failure.
fn refused(portal: &Portal, error: &str) -> Response {
    if error == "access_denied" {
        return restart_page(
            portal,
            StatusCode::OK,
            "Connexion annulée",
            "Vous avez refusé de partager vos informations avec l'Espace Citoyens : vous n'êtes donc pas connecté. Vous pourrez vous connecter quand vous le souhaitez ; le consentement vous sera demandé à nouveau.",
        );
    }
    tracing::info!(error, "the provider returned an error");
    restart_page(
        portal,
        StatusCode::BAD_REQUEST,
        "Connexion impossible",
        "Le fournisseur d'identité n'a pas pu vous connecter. Veuillez réessayer.",
    )
}

/// The session of a signed-in citizen whose espace is linked.
pub enum Access {
    Granted(Box<Session>, i64),
    Redirect(Response),
}

pub async fn require_account(portal: &Portal, jar: &CookieJar) -> Result<Access> {
    let session = session::current(portal, jar).await?;
    Ok(match session {
        Some(s) if s.data.identity.is_some() => match s.data.account_id {
            Some(id) => Access::Granted(Box::new(s), id),
            None => Access::Redirect(Redirect::to(paths::LINK).into_response()),
        },
        _ => Access::Redirect(Redirect::to(paths::HOME).into_response()),
    })
}

#[derive(Serialize)]
struct AccountPage {
    name: String,
    claims: Claims,
    account: db::Account,
    conjoints: Vec<db::FamilyMember>,
    enfants: Vec<db::FamilyMember>,
    contacts: Vec<db::FamilyMember>,
    csrf: String,
    /// « Mon compte Sésame »: where the citizen corrects what the provider
    /// says, withdraws the portal's access or deletes their account.
    sesame_account: String,
}

/// « Mon compte »: who the provider says I am, and « Ma famille ».
pub async fn account(State(portal): State<PortalState>, jar: CookieJar) -> Result<Response> {
    let (mut session, account_id) = match require_account(&portal, &jar).await? {
        Access::Granted(s, id) => (s, id),
        Access::Redirect(r) => return Ok(r),
    };
    let stale = session
        .data
        .identity
        .as_ref()
        .is_some_and(|i| i.claims_fetched_at + CLAIMS_MAX_AGE <= portal.now());
    if stale && let Some(ended) = renew(&portal, jar.clone(), &mut session).await? {
        return Ok(ended);
    }
    let (account, family) = portal
        .db
        .run(move |c| Ok((db::by_id(c, account_id)?, db::family(c, account_id)?)))
        .await?;
    let (Some(account), Some(identity)) = (account, session.data.identity.clone()) else {
        return Err(PortalError::Internal("linked account vanished".into()));
    };
    let of = |rel: &str| {
        family
            .iter()
            .filter(|m| m.relation == rel)
            .cloned()
            .collect::<Vec<_>>()
    };
    let page = AccountPage {
        name: display_name(&identity.claims),
        claims: identity.claims,
        account,
        conjoints: of("conjoint"),
        enfants: of("enfant"),
        contacts: of("contact"),
        csrf: session.data.csrf.clone(),
        sesame_account: format!("{}/account", portal.config.issuer.trim_end_matches('/')),
    };
    Ok(portal
        .pages
        .render(StatusCode::OK, "compte.html", &banner(Some(&session)), page))
}

/// Fetches userinfo again (renewing the access token with the refresh
/// token when needed). When the provider refuses, the portal session ends
/// and the returned page says so.
async fn renew(portal: &Portal, jar: CookieJar, session: &mut Session) -> Result<Option<Response>> {
    let Some(identity) = session.data.identity.as_mut() else {
        return Ok(None);
    };
    match portal.rp.renew_claims(identity, portal.now()).await {
        Ok(()) => {
            session::save(portal, session, SESSION_TTL).await?;
            Ok(None)
        }
        Err(RpError::Rejected(e)) => {
            tracing::info!(error = %e, "tokens refused; portal session ended");
            let jar = session::destroy(portal, jar, session).await?;
            let page = restart_page(
                portal,
                StatusCode::OK,
                "Session expirée",
                "Votre session a expiré. Veuillez vous connecter à nouveau.",
            );
            Ok(Some((jar, page).into_response()))
        }
        Err(e) => Err(PortalError::Provider(e.to_string())),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// « Mettre à jour mes informations »: userinfo again, now.
pub async fn account_refresh(
    State(portal): State<PortalState>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response> {
    let mut session = match require_account(&portal, &jar).await? {
        Access::Granted(s, _) => s,
        Access::Redirect(r) => return Ok(r),
    };
    if !session.csrf_ok(&form.csrf) {
        return Err(PortalError::BadRequest(
            "Formulaire expiré : veuillez réessayer.",
        ));
    }
    if let Some(ended) = renew(&portal, jar, &mut session).await? {
        return Ok(ended);
    }
    Ok(Redirect::to(paths::ACCOUNT).into_response())
}

/// « Se déconnecter »: ends the portal session, then (when the provider
/// offers it) RP-Initiated Logout at its `end_session_endpoint`.
pub async fn logout(
    State(portal): State<PortalState>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response> {
    let Some(session) = session::current(&portal, &jar).await? else {
        return Ok(Redirect::to(paths::HOME).into_response());
    };
    if !session.csrf_ok(&form.csrf) {
        return Err(PortalError::BadRequest(
            "Formulaire expiré : veuillez réessayer.",
        ));
    }
    let jar = session::destroy(&portal, jar, &session).await?;
    let next = match &session.data.identity {
        Some(identity) => portal.rp.logout_url(identity).await,
        None => None,
    };
    let next = next.unwrap_or_else(|| format!("{}?deconnecte=1", paths::HOME));
    Ok((jar, Redirect::to(&next)).into_response())
}

pub async fn privacy(State(portal): State<PortalState>, jar: CookieJar) -> Result<Response> {
    let session = session::current(&portal, &jar).await?;
    Ok(portal.pages.render(
        StatusCode::OK,
        "confidentialite.html",
        &banner(session.as_ref()),
        (),
    ))
}

pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        super::pages::STYLESHEET,
    )
        .into_response()
}

pub async fn not_found(State(portal): State<PortalState>) -> Response {
    portal.pages.message(
        StatusCode::NOT_FOUND,
        &Banner::default(),
        Message {
            title: "Page introuvable".into(),
            paragraphs: vec!["Cette page n'existe pas.".into()],
            link_href: paths::HOME.into(),
            link_label: "Retour à l'accueil".into(),
            role: "alert",
        },
    )
}
