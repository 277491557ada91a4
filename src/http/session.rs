//! The browser session: a random cookie whose SHA-256 digest keys a row of
//! `sessions` (HttpOnly, SameSite=Lax; Secure and `__Host-` when the issuer
//! is https, see `cookies`).

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::SameSite;

use super::cookies;

use crate::accounts::sessions::{self, Session};
use crate::app::App;
use crate::secrets;
use crate::store::{self, Tx};

/// The live session of this browser, if any.
pub async fn current(app: &App, jar: &CookieJar) -> Result<Option<Session>, store::Error> {
    let Some(lookup) = Lookup::of(app, jar) else {
        return Ok(None);
    };
    app.store.run(move |conn| lookup.run(conn)).await
}

/// A session to find by its cookie, inside a database job (so a handler can
/// look it up in the same job as its own work).
pub struct Lookup {
    digest: String,
    now: i64,
    idle: i64,
}

impl Lookup {
    /// `None` when the browser sent no well-formed session cookie.
    pub fn of(app: &App, jar: &CookieJar) -> Option<Lookup> {
        let value = cookies::token(jar, cookies::SESSION, app.config.https())?;
        Some(Lookup {
            digest: secrets::digest(&value),
            now: app.now(),
            idle: app.config.sessions.idle_ttl,
        })
    }

    /// The live session, its idle deadline pushed forward when due.
    pub fn run(&self, tx: &Tx<'_>) -> crate::store::Result<Option<Session>> {
        sessions::live(tx, &self.digest, self.now, self.idle)
    }

    /// [`Lookup::run`], with its citizen's standing towards `client_id`
    /// (consent, second factor) read in the same statement.
    pub fn run_for(
        &self,
        tx: &Tx<'_>,
        client_id: &str,
    ) -> crate::store::Result<Option<(Session, sessions::Standing)>> {
        sessions::live_with_standing(tx, &self.digest, self.now, self.idle, client_id)
    }
}

/// Starts a session for `sub` after a login, replacing this browser's
/// previous one. Returns the jar with the new cookie.
pub async fn start(
    app: &App,
    jar: CookieJar,
    sub: String,
    amr: Vec<String>,
) -> Result<(CookieJar, Session), store::Error> {
    let now = app.now();
    let cookie_value = secrets::token();
    let session = Session {
        sid: secrets::random_b64(16),
        sub,
        auth_time: now,
        amr,
        acr: None,
        idle_expires_at: now + app.config.sessions.idle_ttl,
        expires_at: now + app.config.sessions.absolute_ttl,
    };
    let https = app.config.https();
    let previous = cookies::token(&jar, cookies::SESSION, https).map(|v| secrets::digest(&v));
    let digest = secrets::digest(&cookie_value);
    let row = session.clone();
    app.store
        .run(move |tx| sessions::open(tx, previous.as_deref(), &digest, &row, now))
        .await?;
    let cookie = cookies::build(cookies::SESSION, cookie_value, https, SameSite::Lax);
    Ok((jar.add(cookie), session))
}

/// A new cookie for a session that gains a factor (its row moves under the
/// new digest in the same job): the digest for that job, and the jar to
/// answer with once it succeeded.
pub struct Renewal {
    pub digest: String,
    value: String,
}

impl Default for Renewal {
    fn default() -> Renewal {
        Renewal::new()
    }
}

impl Renewal {
    pub fn new() -> Renewal {
        let value = secrets::token();
        Renewal {
            digest: secrets::digest(&value),
            value,
        }
    }

    /// The jar carrying the new cookie.
    pub fn into_jar(self, app: &App, jar: CookieJar) -> CookieJar {
        let https = app.config.https();
        jar.add(cookies::build(
            cookies::SESSION,
            self.value,
            https,
            SameSite::Lax,
        ))
    }
}
