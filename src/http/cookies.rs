//! The names and attributes of Sésame's own cookies. When the issuer is
//! https they carry the `__Host-` prefix (RFC 6265bis §4.1.3.2): a browser
//! keeps such a cookie only if it is Secure, has Path=/ and no Domain, so
//! neither a page of a sibling subdomain nor a plain-http answer can set or
//! overwrite it (cookie tossing would otherwise let an attacker plant a
//! session or a CSRF cookie of their own). On an http loopback issuer,
//! where browsers refuse Secure cookies, the plain names are used.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::secrets;

/// A cookie's name, plain and prefixed.
#[derive(Debug, Clone, Copy)]
pub struct Name {
    plain: &'static str,
    host: &'static str,
}

impl Name {
    pub fn get(self, https: bool) -> &'static str {
        if https { self.host } else { self.plain }
    }
}

pub const SESSION: Name = Name {
    plain: "sesame_session",
    host: "__Host-sesame_session",
};
pub const CSRF: Name = Name {
    plain: "sesame_csrf",
    host: "__Host-sesame_csrf",
};
/// Names this browser: pending requests and email links are bound to its
/// digest (see `forms::browser_cookie`).
pub const BROWSER: Name = Name {
    plain: "sesame_browser",
    host: "__Host-sesame_browser",
};

/// A cookie of ours: HttpOnly, Path=/, no Domain, Secure on https.
pub fn build(name: Name, value: String, https: bool, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name.get(https), value))
        .path("/")
        .http_only(true)
        .secure(https)
        .same_site(same_site)
        .build()
}

/// The value of cookie `name` when it is one of our tokens.
pub fn token(jar: &CookieJar, name: Name, https: bool) -> Option<String> {
    jar.get(name.get(https))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == secrets::TOKEN_LEN)
}

/// Removes cookie `name` from the browser.
pub fn remove(jar: CookieJar, name: Name, https: bool) -> CookieJar {
    jar.remove(Cookie::build(name.get(https)).path("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_and_secure_on_https_plain_on_http() {
        for name in [SESSION, CSRF, BROWSER] {
            let https = build(name, "v".into(), true, SameSite::Lax);
            assert!(https.name().starts_with("__Host-sesame_"));
            assert_eq!(
                (https.secure(), https.path(), https.domain()),
                (Some(true), Some("/"), None)
            );
            let http = build(name, "v".into(), false, SameSite::Lax);
            assert!(http.name().starts_with("sesame_"));
            assert_eq!(http.http_only(), Some(true));
        }
    }
}
