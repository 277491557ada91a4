//! The page language for a request: `?lang=` (remembered in a cookie), the
//! request's `ui_locales`, the cookie, then `Accept-Language`.

use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::i18n::Lang;

pub const COOKIE: &str = "sesame_lang";

/// Chooses the language; when `explicit` names one, the returned jar
/// remembers it.
pub fn choose(
    jar: CookieJar,
    headers: &HeaderMap,
    explicit: Option<&str>,
    ui_locales: Option<&str>,
) -> (CookieJar, Lang) {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let cookie = jar.get(COOKIE).map(|c| c.value().to_owned());
    let lang = Lang::negotiate(explicit, ui_locales, cookie.as_deref(), accept);
    let jar = match explicit.and_then(Lang::from_tag) {
        Some(chosen) => jar.add(
            Cookie::build((COOKIE, chosen.code()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .max_age(time::Duration::days(365))
                .build(),
        ),
        None => jar,
    };
    (jar, lang)
}
