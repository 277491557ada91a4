//! The pages' one script, the password strength indicator
//! (`static/strength.js`), with the common-password list of
//! `accounts::policy` put in: built once (at start, see `start::build`),
//! linked as `/static/strength.js?v=<digest>` and served with a year's
//! cache, since a new build changes the link. Allowed by the pages' CSP as
//! a same-origin script (`script-src 'self'`), never inline. Also the
//! « Imprimer » button of the recovery codes page (`static/print.js`).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::paths;
use crate::accounts::policy;
use crate::app::AppState;
use crate::secrets;

/// The script as served and the link the pages use.
struct Script {
    body: String,
    version: String,
    src: String,
}

static STRENGTH: LazyLock<Script> = LazyLock::new(|| {
    let words: Vec<&str> = policy::common_list().collect();
    let list = serde_json::to_string(&words).unwrap_or_else(|_| "[]".to_owned());
    let body =
        include_str!("../../static/strength.js").replacen("/*COMMON_PASSWORDS*/[]", &list, 1);
    let digest = secrets::sha256(body.as_bytes());
    let version: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let src = format!("{}?v={version}", paths::STRENGTH_SCRIPT);
    Script { body, version, src }
});

/// Builds the script now rather than at the first page that links it.
pub fn prepare() {
    LazyLock::force(&STRENGTH);
}

/// The link to the strength indicator's script, with its version.
pub fn strength_src() -> &'static str {
    &STRENGTH.src
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::STRENGTH_SCRIPT, get(strength_script))
        .route(paths::PRINT_SCRIPT, get(print_script))
}

/// « Imprimer » of the recovery codes page (`static/print.js`): small and
/// rarely used, cached for an hour.
async fn print_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        include_str!("../../static/print.js"),
    )
        .into_response()
}

/// The script; a year's cache under the current version's link, five
/// minutes under any other (an old or a made-up `v`).
async fn strength_script(RawQuery(q): RawQuery) -> Response {
    let current = q.is_some_and(|q| q == format!("v={}", STRENGTH.version));
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        STRENGTH.body.as_str(),
    )
        .into_response()
}
