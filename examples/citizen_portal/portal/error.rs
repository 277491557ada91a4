//! The portal's error: logged in full, shown as a plain French page that
//! reveals nothing internal.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug)]
pub enum PortalError {
    /// Something on our side (database, provider unreachable…): 500/502.
    Internal(String),
    /// The provider could not be reached or answered badly.
    Provider(String),
    /// A request that makes no sense (bad CSRF token, unknown state…).
    BadRequest(&'static str),
}

impl From<String> for PortalError {
    fn from(e: String) -> Self {
        PortalError::Internal(e)
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            PortalError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Erreur interne",
                    "Le service rencontre un problème. Veuillez réessayer dans quelques instants.",
                )
            }
            PortalError::Provider(e) => {
                tracing::error!(error = %e, "identity provider error");
                (
                    StatusCode::BAD_GATEWAY,
                    "Fournisseur d'identité indisponible",
                    "La connexion avec le fournisseur d'identité n'a pas pu aboutir. Veuillez réessayer dans quelques instants.",
                )
            }
            PortalError::BadRequest(why) => {
                tracing::info!(why, "bad request");
                (StatusCode::BAD_REQUEST, "Demande invalide", *why)
            }
        };
        // A self-contained page: the templates may be what failed.
        let html = format!(
            "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} — Espace Citoyens</title><link rel=\"stylesheet\" href=\"/static/portal.css\"></head>\
             <body><main id=\"main\"><h1>{title}</h1><p>{text}</p><p><a href=\"/\">Retour à l'accueil de l'Espace Citoyens</a></p></main></body></html>"
        );
        (status, Html(html)).into_response()
    }
}

pub type Result<T> = std::result::Result<T, PortalError>;
