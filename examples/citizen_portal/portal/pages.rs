//! The portal's pages: minijinja templates embedded in the binary, strict
//! about undefined values, French (the portal has no other language).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("message.html", include_str!("../templates/message.html")),
    (
        "rapprochement.html",
        include_str!("../templates/rapprochement.html"),
    ),
    ("creer.html", include_str!("../templates/creer.html")),
    ("active.html", include_str!("../templates/active.html")),
    ("compte.html", include_str!("../templates/compte.html")),
    (
        "confidentialite.html",
        include_str!("../templates/confidentialite.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("../templates/portal.css");

pub struct Pages {
    env: Environment<'static>,
}

/// Who is signed in, for the banner (name and the logout form's CSRF token).
#[derive(Serialize, Default)]
pub struct Banner {
    pub name: Option<String>,
    pub csrf: Option<String>,
}

/// A simple page: a title, paragraphs and one link.
#[derive(Serialize)]
pub struct Message {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub link_href: String,
    pub link_label: String,
    /// `status` for information (a polite live region), `alert` for a problem.
    pub role: &'static str,
}

impl Pages {
    pub fn new() -> Result<Pages, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        Ok(Pages { env })
    }

    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        banner: &Banner,
        page: impl Serialize,
    ) -> Response {
        let ctx = context! {
            banner => Value::from(Serde(banner)),
            ..Value::from(Serde(page))
        };
        match self.env.get_template(template).and_then(|t| t.render(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "template failed");
                super::error::PortalError::Internal("template".into()).into_response()
            }
        }
    }

    pub fn message(&self, status: StatusCode, banner: &Banner, page: Message) -> Response {
        self.render(status, "message.html", banner, page)
    }
}
