//! `sessions`: browser sessions, keyed by the SHA-256 digest of the cookie.

use super::args;

use super::{Result, Row, Tx};
use crate::protocol::Scopes;

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub sid: String,
    pub sub: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub idle_expires_at: i64,
    pub expires_at: i64,
}

pub fn insert(tx: &Tx<'_>, digest: &str, s: &Session, now: i64) -> Result<()> {
    tx.execute("INSERT INTO sessions (digest, sid, sub, auth_time, amr, acr, created_at, idle_expires_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", args![
        digest,
        s.sid,
        s.sub,
        s.auth_time,
        s.amr.join(" "),
        s.acr,
        now,
        s.idle_expires_at,
        s.expires_at
    ])?;
    Ok(())
}

/// The live session for a cookie digest, if any (expired ones are ignored).
pub fn live(tx: &Tx<'_>, digest: &str, now: i64) -> Result<Option<Session>> {
    tx.query_opt(
        concat!(live_sql!(), " FROM sessions s ", live_where!()),
        args![digest, now],
        session,
    )
}

/// What an authorization request decides on besides the session: the
/// scopes its citizen granted the client, and whether they have a second
/// factor enrolled (as `consents::granted_and_enrolled` reads them).
pub type Standing = (Option<Scopes>, bool);

/// [`live`] with its citizen's [`Standing`] towards `client_id`, in one
/// statement: an authorization request's first read.
pub fn live_with_standing(
    tx: &Tx<'_>,
    digest: &str,
    now: i64,
    client_id: &str,
) -> Result<Option<(Session, Standing)>> {
    tx.query_opt(
        concat!(
            live_sql!(),
            ", (SELECT scopes FROM consents c WHERE c.sub = s.sub AND c.client_id = ?3), \
             EXISTS (SELECT 1 FROM totp t WHERE t.sub = s.sub AND t.confirmed_at IS NOT NULL) \
             FROM sessions s ",
            live_where!()
        ),
        args![digest, now, client_id],
        |row| Ok((session(row)?, (row.get(7)?, row.get(8)?))),
    )
}

macro_rules! live_sql {
    () => {
        "SELECT s.sid, s.sub, s.auth_time, s.amr, s.acr, s.idle_expires_at, s.expires_at"
    };
}
use live_sql;

macro_rules! live_where {
    () => {
        "WHERE s.digest = ?1 AND s.idle_expires_at > ?2 AND s.expires_at > ?2"
    };
}
use live_where;

/// The session in the columns of `live_sql!`.
fn session(row: &Row<'_, '_>) -> Result<Session> {
    let amr: String = row.get(3)?;
    Ok(Session {
        sid: row.get(0)?,
        sub: row.get(1)?,
        auth_time: row.get(2)?,
        amr: amr.split_whitespace().map(str::to_owned).collect(),
        acr: row.get(4)?,
        idle_expires_at: row.get(5)?,
        expires_at: row.get(6)?,
    })
}

/// Pushes the idle deadline forward (never past the absolute one).
pub fn touch(tx: &Tx<'_>, digest: &str, idle_expires_at: i64) -> Result<()> {
    let sql = tx.pick(
        "UPDATE sessions SET idle_expires_at = MIN(?2, expires_at) WHERE digest = ?1",
        "UPDATE sessions SET idle_expires_at = LEAST($2, expires_at) WHERE digest = $1",
    );
    tx.execute(sql, args![digest, idle_expires_at])?;
    Ok(())
}

pub fn delete(tx: &Tx<'_>, digest: &str) -> Result<Option<String>> {
    tx.query_opt(
        "DELETE FROM sessions WHERE digest = ?1 RETURNING sid",
        args![digest],
        |row| row.get(0),
    )
}

/// Ends every session of `sub` except `keep_sid`; returns the ended sids.
pub fn delete_others(tx: &Tx<'_>, sub: &str, keep_sid: Option<&str>) -> Result<Vec<String>> {
    let sql = tx.pick(
        "DELETE FROM sessions WHERE sub = ?1 AND sid IS NOT ?2 RETURNING sid",
        "DELETE FROM sessions WHERE sub = $1 AND sid IS DISTINCT FROM $2 RETURNING sid",
    );
    tx.query_all(sql, args![sub, keep_sid], |row| row.get(0))
}

/// Deletes the session of a cookie digest (live or expired); returns its
/// `sid` and `sub`.
pub fn take(tx: &Tx<'_>, digest: &str) -> Result<Option<(String, String)>> {
    tx.query_opt(
        "DELETE FROM sessions WHERE digest = ?1 RETURNING sid, sub",
        args![digest],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

/// Records the browser and address a session was opened from.
pub fn set_device(tx: &Tx<'_>, digest: &str, ip: &str, user_agent: &str) -> Result<()> {
    tx.execute(
        "UPDATE sessions SET ip = ?2, user_agent = ?3 WHERE digest = ?1",
        args![digest, ip, user_agent],
    )?;
    Ok(())
}

/// A signed-in browser, as the account page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub sid: String,
    pub created_at: i64,
    pub auth_time: i64,
    /// When the idle deadline was last pushed (about when it was last used).
    pub idle_expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The live sessions of `sub`, most recent first.
pub fn list_of(tx: &Tx<'_>, sub: &str, now: i64) -> Result<Vec<Device>> {
    tx.query_all(
        "SELECT sid, created_at, auth_time, idle_expires_at, ip, user_agent FROM sessions \
         WHERE sub = ?1 AND idle_expires_at > ?2 AND expires_at > ?2 ORDER BY created_at DESC",
        args![sub, now],
        |row| {
            Ok(Device {
                sid: row.get(0)?,
                created_at: row.get(1)?,
                auth_time: row.get(2)?,
                idle_expires_at: row.get(3)?,
                ip: row.get(4)?,
                user_agent: row.get(5)?,
            })
        },
    )
}

/// Ends session `sid` if it belongs to `sub`; false for any other.
pub fn delete_of(tx: &Tx<'_>, sub: &str, sid: &str) -> Result<bool> {
    Ok(tx.execute(
        "DELETE FROM sessions WHERE sub = ?1 AND sid = ?2",
        args![sub, sid],
    )? > 0)
}

/// The password was typed again in session `sid`: its sign-in is fresh.
pub fn set_auth_time(tx: &Tx<'_>, sid: &str, auth_time: i64) -> Result<()> {
    tx.execute(
        "UPDATE sessions SET auth_time = ?2 WHERE sid = ?1",
        args![sid, auth_time],
    )?;
    Ok(())
}

/// Session `sid` proved more methods (`amr`, a second factor): recorded in
/// place, the session moving under a new cookie digest.
pub fn step_up(tx: &Tx<'_>, sid: &str, amr: &[String], digest: &str) -> Result<()> {
    tx.execute(
        "UPDATE sessions SET amr = ?2, digest = ?3 WHERE sid = ?1",
        args![sid, amr.join(" "), digest],
    )?;
    Ok(())
}
