//! CSRF protection for every form: a double-submit token. The token lives
//! in an HttpOnly, SameSite=Strict cookie and in a hidden field; a POST is
//! accepted only when both are present and equal.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::secrets;

pub const COOKIE: &str = "sesame_csrf";
pub const FIELD: &str = "csrf";

/// The request's CSRF token, creating one (and its cookie) if needed.
pub fn token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar
        .get(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == secrets::TOKEN_LEN)
    {
        return (jar, existing);
    }
    let fresh = secrets::token();
    let cookie = Cookie::build((COOKIE, fresh.clone()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), fresh)
}

/// Whether a submitted form carries the cookie's token.
pub fn verify(jar: &CookieJar, submitted: Option<&str>) -> bool {
    match (jar.get(COOKIE), submitted) {
        (Some(cookie), Some(field)) => {
            cookie.value().len() == secrets::TOKEN_LEN && secrets::same(cookie.value(), field)
        }
        _ => false,
    }
}
