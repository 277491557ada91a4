//! CSRF protection for every form. The browser holds a random cookie of
//! its own (HttpOnly, SameSite=Strict, `__Host-` on https); a form carries
//! HMAC(server key, that cookie, the session cookie if any). A POST is
//! accepted only when its field is that HMAC for the cookies it came with.
//!
//! So a token copied from another browser's page is refused, and so is a
//! pair planted by an attacker who managed to set the CSRF cookie (their
//! own cookie and its token): once the citizen is signed in the token also
//! depends on the session cookie, which the attacker cannot know. The
//! cookie's raw value never appears in a page.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use super::cookies;
use crate::app::App;
use crate::secrets;

pub const FIELD: &str = "csrf";

/// The token forms must carry for this browser, creating its CSRF cookie
/// if needed.
pub fn token(app: &App, jar: CookieJar) -> (CookieJar, String) {
    let https = app.config.https();
    let (jar, browser) = match cookies::token(&jar, cookies::CSRF, https) {
        Some(value) => (jar, value),
        None => {
            let fresh = secrets::token();
            let cookie = cookies::build(cookies::CSRF, fresh.clone(), https, SameSite::Strict);
            (jar.add(cookie), fresh)
        }
    };
    let expected = expected(app, &jar, &browser);
    (jar, expected)
}

/// Whether a submitted form carries this browser's token.
pub fn verify(app: &App, jar: &CookieJar, submitted: Option<&str>) -> bool {
    let (Some(browser), Some(field)) = (
        cookies::token(jar, cookies::CSRF, app.config.https()),
        submitted,
    ) else {
        return false;
    };
    secrets::same(&expected(app, jar, &browser), field)
}

fn expected(app: &App, jar: &CookieJar, browser: &str) -> String {
    let session = cookies::token(jar, cookies::SESSION, app.config.https()).unwrap_or_default();
    let mac = secrets::hmac(
        &app.csrf_key,
        &[b"csrf", browser.as_bytes(), session.as_bytes()],
    );
    secrets::b64(&mac)
}
