//! `interactions`: validated authorization requests waiting for a login,
//! a sign-up or a consent. Pages carry only the id.

use super::args;

use super::{Result, Tx};

/// A pending request as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The validated authorization request, JSON.
    pub request: String,
    /// The sid of the login done for it.
    pub login_sid: Option<String>,
    /// Digest of the cookie of the browser it belongs to.
    pub browser: Option<String>,
}

pub fn insert(
    tx: &Tx<'_>,
    id: &str,
    request_json: &str,
    browser: Option<&str>,
    expires_at: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO interactions (id, request, browser, expires_at) VALUES (?1, ?2, ?3, ?4)",
        args![id, request_json, browser, expires_at],
    )?;
    Ok(())
}

/// The request, if still pending.
pub fn get(tx: &Tx<'_>, id: &str, now: i64) -> Result<Option<Pending>> {
    tx.query_opt(
        "SELECT request, login_sid, browser FROM interactions WHERE id = ?1 AND expires_at > ?2",
        args![id, now],
        |row| {
            Ok(Pending {
                request: row.get(0)?,
                login_sid: row.get(1)?,
                browser: row.get(2)?,
            })
        },
    )
}

/// Hands the request over to another browser (an activation link opened
/// there by the one who proved to have started it).
pub fn bind(tx: &Tx<'_>, id: &str, browser: &str) -> Result<()> {
    tx.execute(
        "UPDATE interactions SET browser = ?2 WHERE id = ?1",
        args![id, browser],
    )?;
    Ok(())
}

/// Records that the citizen signed in (session `sid`) for this request.
pub fn set_login(tx: &Tx<'_>, id: &str, sid: &str) -> Result<()> {
    tx.execute(
        "UPDATE interactions SET login_sid = ?2 WHERE id = ?1",
        args![id, sid],
    )?;
    Ok(())
}

/// Consumes a pending request; false when it was gone already (another
/// request consumed it first), so only one answer is ever sent for it.
pub fn delete(tx: &Tx<'_>, id: &str) -> Result<bool> {
    Ok(tx.execute("DELETE FROM interactions WHERE id = ?1", args![id])? == 1)
}
