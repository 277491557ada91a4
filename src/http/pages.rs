//! Pages as HTTP responses: what `crate::pages` renders, with its status,
//! or a bare error page when a template fails.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::i18n::Lang;
pub use crate::pages::{Pages, TEMPLATES};

/// Rendering a page into a response (`app.pages.render(…)`).
pub trait Render {
    /// Renders `template` with `page` as its context. `here` is the page's
    /// own path and query (without `lang`), for the language links.
    fn render(
        &self,
        status: StatusCode,
        template: &str,
        lang: Lang,
        here: &str,
        page: impl Serialize,
    ) -> Response;
}

impl Render for Pages {
    fn render(
        &self,
        status: StatusCode,
        template: &str,
        lang: Lang,
        here: &str,
        page: impl Serialize,
    ) -> Response {
        match self.render_string(template, lang, here, page) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("<!doctype html><title>Erreur</title><p>Erreur interne.</p>"),
                )
                    .into_response()
            }
        }
    }
}
