//! Which browser and address a session was opened from, for the list of
//! signed-in browsers on the account page: recorded once, when a response
//! sets the session cookie (a sign-in, a reset, an activation), so that no
//! sign-in handler has to carry it.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::client_ip::ClientIp;
use super::cookies;
use crate::accounts::devices;
use crate::app::AppState;
use crate::secrets;

/// Longest User-Agent kept (the page shows its family only).
const MAX_USER_AGENT: usize = 300;

pub async fn record(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let user_agent: String = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(MAX_USER_AGENT)
        .collect();
    let response = next.run(request).await;
    let name = cookies::SESSION.get(app.config.https());
    let Some(value) = new_session_cookie(&response, name) else {
        return response;
    };
    let digest = secrets::digest(&value);
    let noted = app
        .store
        .run(move |tx| devices::note(tx, &digest, &ip, &user_agent))
        .await;
    if let Err(e) = noted {
        tracing::warn!(error = %e, "could not note the session's browser");
    }
    response
}

/// The value of a session cookie this response sets, if any.
fn new_session_cookie(response: &Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix(&prefix))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .find(|v| v.len() == secrets::TOKEN_LEN)
}
