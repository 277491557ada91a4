//! The pending authorization request (DESIGN §2): stored as an interaction
//! while a page is needed, loaded by id, and moved on — after validation,
//! after any sign-in, after consent — by one function, [`advance`]. Every
//! way of signing in (password, email verification, password reset, and a
//! second factor's code) continues through [`after_sign_in`] or, once a
//! session proved its second factor, [`resume`].

use super::authorize::AuthRequest;
use super::flow::{Next, Progress, next_step};
use super::{ErrorCode, OAuthError, grants};
use crate::accounts::throttle;
use crate::config::{Client, WindowLimit};
use crate::secrets;
use crate::store::sessions::{Session, Standing};
use crate::store::{self, Tx, consents, interactions};

/// How long codes and interactions live (from `[tokens]`).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub code: i64,
    pub interaction: i64,
}

/// Where a request stands once moved on.
#[derive(Debug)]
pub enum Moved {
    /// The citizen must sign in for the interaction with this id.
    Login(String),
    /// The session must prove its second factor, for the interaction with
    /// this id.
    SecondFactor(String),
    /// The citizen must enrol a second factor first, for the interaction
    /// with this id.
    Enrol(String),
    /// The citizen must consent, on the interaction with this id.
    Consent(String),
    /// Back to the client with this code.
    Code(String),
    /// Back to the client with this error.
    Fail(OAuthError),
    /// The request was answered already (another POST consumed it first).
    Gone,
    /// Its client address opened too many pending requests lately: nothing
    /// was stored; retry after this many seconds.
    Busy(i64),
}

/// Who opens a new pending request, and how many one may open per window.
#[derive(Debug, Clone)]
pub struct Creator {
    /// The throttle key of the client address.
    pub key: String,
    pub bound: WindowLimit,
}

/// A request straight from /authorize, before any interaction exists.
pub struct Fresh<'a> {
    pub req: &'a AuthRequest,
    pub session: Option<&'a Session>,
    /// What `session`'s citizen granted the client and whether they have a
    /// second factor, when read with the session (else read here).
    pub standing: Option<Standing>,
    pub creator: &'a Creator,
    /// The digest of the browser's cookie: the interaction belongs to it.
    pub browser: &'a str,
}

/// Moves a fresh request on like [`advance`]; the interaction it may store
/// is a write for a visitor nobody authenticated, so it counts against its
/// creator's bound, and over the bound it is not kept: pending requests
/// must not become a way to fill the database.
pub fn open(
    tx: &Tx<'_>,
    client: &Client,
    fresh: Fresh<'_>,
    now: i64,
    ttl: Lifetimes,
) -> store::Result<Moved> {
    let progress = Progress::default();
    let moved = advance(
        tx,
        client,
        fresh.req,
        Interaction::New {
            browser: Some(fresh.browser),
            standing: fresh.standing,
        },
        fresh.session,
        progress,
        now,
        ttl,
    )?;
    if let Moved::Login(id) | Moved::SecondFactor(id) | Moved::Enrol(id) | Moved::Consent(id) =
        &moved
    {
        let creator = fresh.creator;
        if let Err(wait) = throttle::take(tx, &creator.key, &creator.bound, now)? {
            interactions::delete(tx, id)?;
            return Ok(Moved::Busy(wait));
        }
    }
    Ok(moved)
}

/// A pending request and the session that signed in for it, if any —
/// only for the browser it belongs to (`browser`: the digest of the
/// asking browser's cookie): an id planted in someone else's browser is
/// worth nothing there.
pub fn load(
    tx: &Tx<'_>,
    id: &str,
    browser: Option<&str>,
    now: i64,
) -> store::Result<Option<(AuthRequest, Option<String>)>> {
    let Some(browser) = browser.filter(|_| id.len() == secrets::TOKEN_LEN) else {
        return Ok(None);
    };
    Ok(interactions::get(tx, id, now)?
        .filter(|p| {
            p.browser
                .as_deref()
                .is_some_and(|b| secrets::same(b, browser))
        })
        .and_then(|p| {
            serde_json::from_str(&p.request)
                .ok()
                .map(|req| (req, p.login_sid))
        }))
}

/// The interaction a step works on: the stored one, or none yet — then,
/// if a page is needed, one is stored for the browser whose cookie digest
/// is given, and only that browser's pages accept its id. A new one may
/// come with its session's standing already read.
#[derive(Debug, Clone, Copy)]
enum Interaction<'a> {
    Stored(&'a str),
    New {
        browser: Option<&'a str>,
        standing: Option<Standing>,
    },
}

/// Moves `req` on (OIDC Core §3.1.2.3–§3.1.2.4): stores it as an
/// interaction when a page is needed (reusing the stored one when it has
/// one), issues the code when nothing is, and forgets the interaction once
/// the client gets its answer.
#[allow(clippy::too_many_arguments)] // one decision over all it depends on
fn advance(
    tx: &Tx<'_>,
    client: &Client,
    req: &AuthRequest,
    pending: Interaction<'_>,
    session: Option<&Session>,
    progress: Progress,
    now: i64,
    ttl: Lifetimes,
) -> store::Result<Moved> {
    let (interaction, browser, standing) = match pending {
        Interaction::Stored(id) => (Some(id), None, None),
        Interaction::New { browser, standing } => (None, browser, standing),
    };
    let (consented, enrolled) = match (session, standing) {
        (Some(_), Some(standing)) => standing,
        (Some(s), None) => consents::granted_and_enrolled(tx, &s.sub, &client.id)?,
        (None, _) => (None, false),
    };
    let next = next_step(req, client, session, progress, consented, enrolled, now);
    // The interaction is consumed in the job that answers the client: of
    // two POSTs racing on it, the second finds it gone and gets a page, not
    // a second code.
    if matches!(next, Next::Issue | Next::Fail(_)) && !consume(tx, interaction)? {
        return Ok(Moved::Gone);
    }
    let page: fn(String) -> Moved = match next {
        Next::Login => Moved::Login,
        Next::SecondFactor => Moved::SecondFactor,
        Next::Enrol => Moved::Enrol,
        Next::Consent => Moved::Consent,
        Next::Issue => {
            let session =
                session.ok_or_else(|| store::Error::Internal("a code without a session".into()))?;
            let code = grants::issue_code(tx, req, session, now, ttl.code)?;
            return Ok(Moved::Code(code));
        }
        Next::Fail(e) => return Ok(Moved::Fail(e)),
    };
    let id = match interaction {
        Some(id) => id.to_owned(),
        None => {
            let id = secrets::token();
            let json = serde_json::to_string(req)
                .map_err(|e| store::Error::Internal(format!("interaction: {e}")))?;
            interactions::insert(tx, &id, &json, browser, now + ttl.interaction)?;
            id
        }
    };
    Ok(page(id))
}

/// Continues the pending request `id` after the citizen signed in as
/// `session`, whichever way they did: records the sign-in on the
/// interaction (so a later consent knows it was made for this request) and
/// moves the request on.
pub fn after_sign_in(
    tx: &Tx<'_>,
    client: &Client,
    id: &str,
    req: &AuthRequest,
    session: &Session,
    now: i64,
    ttl: Lifetimes,
) -> store::Result<Moved> {
    interactions::set_login(tx, id, &session.sid)?;
    let progress = Progress {
        signed_in: true,
        consented: false,
    };
    let stored = Interaction::Stored(id);
    advance(tx, client, req, stored, Some(session), progress, now, ttl)
}

/// Continues the pending request `id` once `session` proved its second
/// factor (or enrolled one): a step-up, not a new sign-in, so the request
/// counts as signed in for only if this session's password was typed for
/// it (`login_sid`).
#[allow(clippy::too_many_arguments)] // the request and all it moves on
pub fn resume(
    tx: &Tx<'_>,
    client: &Client,
    id: &str,
    req: &AuthRequest,
    session: &Session,
    login_sid: Option<&str>,
    now: i64,
    ttl: Lifetimes,
) -> store::Result<Moved> {
    let progress = Progress {
        signed_in: login_sid == Some(session.sid.as_str()),
        consented: false,
    };
    let stored = Interaction::Stored(id);
    advance(tx, client, req, stored, Some(session), progress, now, ttl)
}

/// The citizen's answer on the consent page: refused, the client hears
/// `access_denied` (RFC 6749 §4.1.2.1); accepted, the consent is recorded
/// and the request moves on. `login_sid` is the session that signed in for
/// this request, if one did.
#[allow(clippy::too_many_arguments)] // the answer and all it moves on
pub fn consent(
    tx: &Tx<'_>,
    client: &Client,
    id: &str,
    req: &AuthRequest,
    session: &Session,
    login_sid: Option<&str>,
    accepted: bool,
    now: i64,
    ttl: Lifetimes,
) -> store::Result<Moved> {
    if !accepted {
        if !interactions::delete(tx, id)? {
            return Ok(Moved::Gone);
        }
        return Ok(Moved::Fail(OAuthError::new(
            ErrorCode::AccessDenied,
            "the citizen refused to share this information",
        )));
    }
    consents::grant(tx, &session.sub, &client.id, req.consent_scopes, now)?;
    let scopes = req.consent_scopes.alphabetical();
    crate::accounts::audit::record(
        tx,
        crate::accounts::audit::Kind::ConsentGiven,
        Some(&session.sub),
        Some(&client.id),
        &crate::accounts::audit::Origin::default(),
        Some(&scopes),
        now,
    )?;
    let progress = Progress {
        signed_in: login_sid == Some(session.sid.as_str()),
        consented: true,
    };
    let stored = Interaction::Stored(id);
    advance(tx, client, req, stored, Some(session), progress, now, ttl)
}

/// Forgets the interaction once its request is answered; false when
/// another request consumed it first (a request without one — straight
/// from /authorize — has nothing to consume).
fn consume(tx: &Tx<'_>, interaction: Option<&str>) -> store::Result<bool> {
    match interaction {
        Some(id) => interactions::delete(tx, id),
        None => Ok(true),
    }
}
