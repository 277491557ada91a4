//! Thin axum handlers, one file per endpoint family, and the router.

pub mod account;
pub mod assets;
pub mod authorize;
pub mod client_ip;
pub mod consent;
pub mod cookies;
pub mod csrf;
pub mod device;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod forms;
pub mod health;
pub mod home;
pub mod introspect;
pub mod lang;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod mfa;
pub mod pages;
pub mod paths;
pub mod reset;
pub mod revoke;
pub mod server;
pub mod session;
pub mod signup;
pub mod start;
pub mod token;
pub mod userinfo;
pub mod verify;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use tower::util::MapResponseLayer;
use tower_http::cors::{Any, CorsLayer};

use crate::app::AppState;

/// Largest request body accepted (forms and token requests are tiny).
const BODY_LIMIT: usize = 64 * 1024;

/// The CSP of every page: our own stylesheet and scripts only (no inline
/// script; the one script, the password strength indicator, is an
/// enhancement: every page works without it), no connection anywhere (a
/// password typed cannot leave the page but by its form), not framable.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/// Every endpoint. The browser's pages note the browser a new session
/// cookie goes to (`device::record`); the JSON endpoints, assets and probes
/// never set one, so they skip that layer (a few µs of every token,
/// userinfo or discovery request).
fn endpoints(app: &AppState, cross_origin: Router<AppState>) -> Router<AppState> {
    let pages = Router::new()
        .merge(authorize::router())
        .merge(login::router())
        .merge(mfa::router())
        .merge(consent::router())
        .merge(home::router())
        .merge(logout::router())
        .merge(signup::router())
        .merge(verify::router())
        .merge(reset::router())
        .merge(account::router())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            device::record,
        ));
    Router::new()
        .merge(cross_origin)
        .merge(assets::router())
        .merge(health::router())
        .merge(introspect::router())
        .merge(pages)
        .fallback(error::not_found)
}

/// Every route, over the shared state; discovery and JWKS serve what
/// `prepared` holds.
pub fn router(app: AppState, prepared: discovery::Prepared) -> Router {
    // Endpoints a browser application (a public client) calls directly.
    let cross_origin = Router::new()
        .merge(discovery::router(prepared))
        .merge(token::router())
        .merge(userinfo::router())
        .merge(revoke::router())
        .layer(cors());
    let routes = mount(endpoints(&app, cross_origin), app.config.issuer_path());
    // Only with `metrics_listen`: without it requests pay nothing.
    let routes = if app.config.metrics_listen.is_some() {
        routes.layer(axum::middleware::from_fn(metrics::track))
    } else {
        routes
    };
    routes
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(MapResponseLayer::new(fixed_headers(app.config.https())))
        .with_state(app)
}

/// The headers every response carries unless its handler chose otherwise,
/// set in one pass (one layer per header cost every request a few µs of
/// service clones). Pages carry forms (CSRF tokens) or personal data: no
/// shared cache nor history copy may keep them (`no-store` on HTML; other
/// responses say for themselves). With an https issuer, browsers are told
/// never to try plain http again (HSTS, a year: the usual preload minimum).
fn fixed_headers(https: bool) -> fn(Response) -> Response {
    if https {
        with_fixed_headers::<true>
    } else {
        with_fixed_headers::<false>
    }
}

fn with_fixed_headers<const HTTPS: bool>(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, PAGE_CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    if html {
        set(header::CACHE_CONTROL, "no-store");
    }
    if HTTPS {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    response
}

/// Serves `routes` under the issuer's path (`/sesame` for the issuer
/// `https://ville.example/sesame`), where discovery says they are. Handlers
/// and pages speak in paths from the mount point: the relative redirects
/// they answer get the prefix here, and the pages' links through their
/// `local` filter (`Pages::served_under`).
fn mount(routes: Router<AppState>, prefix: &str) -> Router<AppState> {
    if prefix.is_empty() {
        return routes;
    }
    let routes = routes.layer(axum::middleware::map_response_with_state(
        prefix.to_owned(),
        prefix_location,
    ));
    Router::new()
        .nest(prefix, routes)
        .fallback(error::not_found)
}

/// `Location: /login?…` becomes `/sesame/login?…` (`/` becomes `/sesame`,
/// the nested home); absolute URLs (relying parties) are left alone.
async fn prefix_location(
    axum::extract::State(prefix): axum::extract::State<String>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|l| l.starts_with('/') && !l.starts_with("//"));
    let prefixed = match location {
        Some("/") => HeaderValue::from_str(&prefix),
        Some(path) => HeaderValue::from_str(&format!("{prefix}{path}")),
        None => return response,
    };
    if let Ok(value) = prefixed {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// CORS for the JSON endpoints: any origin, no cookies (they authenticate
/// with tokens or client credentials, never with the session cookie).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600))
}
