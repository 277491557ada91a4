//! `auth_codes`, `grants`, `refresh_tokens` and `access_tokens`: what a
//! client obtained, so that any of it can be revoked together.

use super::args;

use super::{Result, Row, Tx};
use crate::protocol::{ClientId, RedirectUri, Scopes};

/// An authorization code as stored (the code itself only as a digest).
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub client_id: ClientId,
    pub sub: String,
    pub redirect_uri: RedirectUri,
    pub scopes: Scopes,
    pub claims: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub sid: String,
    pub auth_time: i64,
    pub amr: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: Option<String>,
}

/// Stores a code under its key (`secrets::token_key`) with the SHA-256 of
/// the whole code.
pub fn insert_code(tx: &Tx<'_>, key: &str, digest: &str, c: &Code) -> Result<()> {
    tx.write(
        "INSERT INTO auth_codes (id, digest, client_id, sub, redirect_uri, scopes, claims, nonce, \
         code_challenge, sid, auth_time, amr, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        args![
            key,
            digest,
            c.client_id,
            c.sub,
            c.redirect_uri,
            c.scopes,
            c.claims,
            c.nonce,
            c.code_challenge,
            c.sid,
            c.auth_time,
            c.amr,
            c.expires_at
        ],
    )?;
    Ok(())
}

/// The code stored under `key` whose digest is `digest`: exactly the code
/// issued.
pub fn find_code(tx: &Tx<'_>, key: &str, digest: &str) -> Result<Option<Code>> {
    tx.query_opt(FIND_CODE, args![key, digest], code)
}

const FIND_CODE: &str = "SELECT c.client_id, c.sub, c.redirect_uri, c.scopes, c.claims, c.nonce, \
     c.code_challenge, c.sid, c.auth_time, c.amr, c.expires_at, c.used_at, c.grant_id \
     FROM auth_codes c WHERE c.id = ?1 AND c.digest = ?2";

/// [`find_code`] with its citizen (`None` once the account is gone), to
/// redeem it: on PostgreSQL in one statement, which locks the code's row,
/// on SQLite in two.
pub fn find_code_and_user(
    tx: &Tx<'_>,
    key: &str,
    digest: &str,
) -> Result<Option<(Code, Option<super::users::User>)>> {
    if !tx.is_postgres() {
        let Some(code) = find_code(tx, key, digest)? else {
            return Ok(None);
        };
        let user = super::users::by_sub(tx, &code.sub)?;
        return Ok(Some((code, user)));
    }
    // `FOR UPDATE`: a redemption running beside this one (hot writers,
    // `pg`) waits for it and then finds the code used (RFC 6749 §4.1.2).
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let joined = super::users::with_citizen(FIND_CODE, "auth_codes c", "c.sub");
        format!("{joined} FOR UPDATE OF c")
    });
    tx.query_opt(&SQL, args![key, digest], |row| {
        Ok((code(row)?, super::users::joined_at(row, 13)?))
    })
}

/// The code in the columns of [`FIND_CODE`].
fn code(row: &Row<'_, '_>) -> Result<Code> {
    Ok(Code {
        client_id: row.get(0)?,
        sub: row.get(1)?,
        redirect_uri: row.get(2)?,
        scopes: row.get(3)?,
        claims: row.get(4)?,
        nonce: row.get(5)?,
        code_challenge: row.get(6)?,
        sid: row.get(7)?,
        auth_time: row.get(8)?,
        amr: row.get(9)?,
        expires_at: row.get(10)?,
        used_at: row.get(11)?,
        grant_id: row.get(12)?,
    })
}

/// Marks a code used by `grant_id`. Sent with the job's next statement or
/// its end (`Tx::write`): the job found the code unused, and no one used it
/// meanwhile (SQLite's jobs run one after the other; on PostgreSQL the job
/// holds the code's row since [`find_code_and_user`]).
pub fn mark_code_used(tx: &Tx<'_>, key: &str, grant_id: &str, now: i64) -> Result<()> {
    tx.write(
        "UPDATE auth_codes SET used_at = ?2, grant_id = ?3 WHERE id = ?1 AND used_at IS NULL",
        args![key, now, grant_id],
    )
}

/// What a client holds on behalf of a citizen (or of itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: String,
    pub sub: Option<String>,
    pub client_id: ClientId,
    pub scopes: Scopes,
    pub claims: Option<String>,
    pub sid: Option<String>,
    pub auth_time: Option<i64>,
    pub amr: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn insert_grant(tx: &Tx<'_>, g: &Grant) -> Result<()> {
    tx.write("INSERT INTO grants (id, sub, client_id, scopes, claims, sid, auth_time, amr, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", args![
        g.id,
        g.sub,
        g.client_id,
        g.scopes,
        g.claims,
        g.sid,
        g.auth_time,
        g.amr,
        g.created_at,
        g.expires_at
    ])?;
    Ok(())
}

pub fn grant(tx: &Tx<'_>, id: &str) -> Result<Option<Grant>> {
    tx.query_opt(
        concat!("SELECT ", grant_columns!(), " FROM grants WHERE id = ?1"),
        args![id],
        |row| grant_at(row, 0),
    )
}

/// A grant's columns, in the order [`grant_at`] reads them.
macro_rules! grant_columns {
    () => {
        "id, sub, client_id, scopes, claims, sid, auth_time, amr, created_at, expires_at, revoked_at"
    };
}
use grant_columns;

/// The grant in the columns of `grant_columns!` from `at` on.
fn grant_at(row: &Row<'_, '_>, at: usize) -> Result<Grant> {
    Ok(Grant {
        id: row.get(at)?,
        sub: row.get(at + 1)?,
        client_id: row.get(at + 2)?,
        scopes: row.get(at + 3)?,
        claims: row.get(at + 4)?,
        sid: row.get(at + 5)?,
        auth_time: row.get(at + 6)?,
        amr: row.get(at + 7)?,
        created_at: row.get(at + 8)?,
        expires_at: row.get(at + 9)?,
        revoked_at: row.get(at + 10)?,
    })
}

/// A refresh token by its digest, with its grant (none if either is gone).
pub fn refresh_token_and_grant(tx: &Tx<'_>, digest: &str) -> Result<Option<(RefreshToken, Grant)>> {
    Ok(refresh_family(tx, digest, false)?.map(|(token, grant, _)| (token, grant)))
}

/// [`refresh_token_and_grant`] with the grant's citizen (`None` for a
/// grant without one, or once the account is gone), to redeem the token:
/// on PostgreSQL its row stays locked until the job's batch ends.
pub fn refresh_token_grant_and_user(
    tx: &Tx<'_>,
    digest: &str,
) -> Result<Option<(RefreshToken, Grant, Option<super::users::User>)>> {
    refresh_family(tx, digest, true)
}

/// On PostgreSQL one statement (one round trip, and a read job of one
/// statement goes straight from its task: `direct`); on SQLite one per
/// table, each a cached statement that a join could not stay.
fn refresh_family(
    tx: &Tx<'_>,
    digest: &str,
    with_user: bool,
) -> Result<Option<(RefreshToken, Grant, Option<super::users::User>)>> {
    if !tx.is_postgres() {
        let Some(token) = find_refresh_token(tx, digest)? else {
            return Ok(None);
        };
        let Some(grant) = grant(tx, &token.grant_id)? else {
            return Ok(None);
        };
        let user = match grant.sub.as_deref() {
            Some(sub) if with_user => super::users::by_sub(tx, sub)?,
            _ => None,
        };
        return Ok(Some((token, grant, user)));
    }
    static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        let base = format!(
            "SELECT r.grant_id, r.created_at, r.expires_at, r.rotated_at, {} \
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.digest = ?1",
            super::tx::prefixed(grant_columns!(), "g")
        );
        let joined = "refresh_tokens r JOIN grants g ON g.id = r.grant_id";
        // Only a refresh asks for the citizen. `FOR UPDATE`: a refresh of
        // the same token running beside it (hot writers, `pg`) waits for it
        // and then finds the token rotated (RFC 9700 §4.14.2).
        let with_user = super::users::with_citizen(&base, joined, "g.sub");
        [base, format!("{with_user} FOR UPDATE OF r")]
    });
    let sql = &SQL[usize::from(with_user)];
    tx.query_opt(sql, args![digest], |row| {
        let token = RefreshToken {
            grant_id: row.get(0)?,
            created_at: row.get(1)?,
            expires_at: row.get(2)?,
            rotated_at: row.get(3)?,
        };
        let grant = grant_at(row, 4)?;
        let user = match with_user {
            true => super::users::joined_at(row, 15)?,
            false => None,
        };
        Ok((token, grant, user))
    })
}

/// Revokes a grant with every access and refresh token it produced.
pub fn revoke_grant(tx: &Tx<'_>, id: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        args![id, now],
    )?;
    tx.execute(
        "UPDATE access_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
        args![id, now],
    )?;
    tx.execute(
        "UPDATE refresh_tokens SET rotated_at = ?2 WHERE grant_id = ?1 AND rotated_at IS NULL",
        args![id, now],
    )?;
    Ok(())
}

/// An access token as recorded, for revocation and `jti` checks.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub jti: String,
    pub grant_id: Option<String>,
    pub client_id: ClientId,
    pub sub: Option<String>,
    pub scopes: Scopes,
    pub expires_at: i64,
}

/// Records an issued access token with the SHA-256 of the token itself.
pub fn insert_access_token(tx: &Tx<'_>, t: &AccessToken, digest: &str) -> Result<()> {
    tx.write(
        "INSERT INTO access_tokens (jti, digest, grant_id, client_id, sub, scopes, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            t.jti,
            digest,
            t.grant_id,
            t.client_id,
            t.sub,
            t.scopes,
            t.expires_at
        ],
    )?;
    Ok(())
}

// Subqueries, not a LEFT JOIN: with the join SQLite marks the statement as
// depending on a parameter's value, and rusqlite's statement cache (which
// clears the bindings) then makes it recompile on every use.
const ACTIVE_ACCESS_TOKEN: &str = "SELECT t.jti, t.grant_id, t.client_id, t.sub, t.scopes, t.expires_at, \
     (SELECT claims FROM grants WHERE id = t.grant_id) \
     FROM access_tokens t \
     WHERE t.jti = ?1 AND t.digest = ?2 AND t.revoked_at IS NULL AND t.expires_at > ?3 \
     AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = t.grant_id AND g.revoked_at IS NOT NULL)";

// The same on PostgreSQL, which plans the join once for a prepared
// statement: one index lookup in `grants` instead of two subplans, each of
// which PostgreSQL sets up again on every execution. A grant that is gone
// leaves `g.revoked_at` NULL, as `NOT EXISTS` does.
const ACTIVE_ACCESS_TOKEN_PG: &str = "SELECT t.jti, t.grant_id, t.client_id, t.sub, t.scopes, t.expires_at, \
     g.claims \
     FROM access_tokens t LEFT JOIN grants g ON g.id = t.grant_id \
     WHERE t.jti = ?1 AND t.digest = ?2 AND t.revoked_at IS NULL AND t.expires_at > ?3 \
     AND g.revoked_at IS NULL";

/// An active access token: the one recorded under `jti` with this digest
/// (so exactly the token issued), unexpired, not revoked, and its grant (if
/// any) not revoked. Returns the token with its grant's claims request.
pub fn active_access_token(
    tx: &Tx<'_>,
    jti: &str,
    digest: &str,
    now: i64,
) -> Result<Option<(AccessToken, Option<String>)>> {
    let sql = tx.pick(ACTIVE_ACCESS_TOKEN, ACTIVE_ACCESS_TOKEN_PG);
    tx.query_opt(sql, args![jti, digest, now], |row| {
        Ok((active_token(row)?, row.get(6)?))
    })
}

/// The token in the first six columns of [`ACTIVE_ACCESS_TOKEN`].
fn active_token(row: &Row<'_, '_>) -> Result<AccessToken> {
    Ok(AccessToken {
        jti: row.get(0)?,
        grant_id: row.get(1)?,
        client_id: row.get(2)?,
        sub: row.get(3)?,
        scopes: row.get(4)?,
        expires_at: row.get(5)?,
    })
}

/// An active access token, its grant's claims request and its citizen.
pub type TokenHolder = (AccessToken, Option<String>, Option<super::users::User>);

/// [`active_access_token`] with its citizen. On PostgreSQL in one
/// statement (one round trip instead of two); on SQLite in two, since a
/// LEFT JOIN would recompile on every use (see `ACTIVE_ACCESS_TOKEN`). The
/// citizen is `None` for a client's own token, or once the account is gone.
pub fn active_access_token_holder(
    tx: &Tx<'_>,
    jti: &str,
    digest: &str,
    now: i64,
) -> Result<Option<TokenHolder>> {
    if !tx.is_postgres() {
        let Some((token, claims)) = active_access_token(tx, jti, digest, now)? else {
            return Ok(None);
        };
        let user = match token.sub.as_deref() {
            Some(sub) => super::users::by_sub(tx, sub)?,
            None => None,
        };
        return Ok(Some((token, claims, user)));
    }
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        super::users::with_citizen(ACTIVE_ACCESS_TOKEN_PG, "access_tokens t", "t.sub")
    });
    tx.query_opt(&SQL, args![jti, digest, now], |row| {
        let user = super::users::joined_at(row, 7)?;
        Ok((active_token(row)?, row.get(6)?, user))
    })
}

/// The client an access token was issued to, whatever its state.
pub fn access_token_client(tx: &Tx<'_>, jti: &str, digest: &str) -> Result<Option<String>> {
    tx.query_opt(
        "SELECT client_id FROM access_tokens WHERE jti = ?1 AND digest = ?2",
        args![jti, digest],
        |row| row.get(0),
    )
}

/// What ending the browser session `sid` does to what it produced: its
/// access tokens are revoked, grants without a refresh family (no
/// `offline_access`) are revoked, unredeemed codes are burnt; refresh
/// families live on. Returns the clients that obtained tokens in it.
pub fn end_session(tx: &Tx<'_>, sid: &str, now: i64) -> Result<Vec<String>> {
    tx.execute(
        "UPDATE access_tokens SET revoked_at = ?2 \
         WHERE grant_id IN (SELECT id FROM grants WHERE sid = ?1) AND revoked_at IS NULL",
        args![sid, now],
    )?;
    tx.execute(
        "UPDATE grants SET revoked_at = ?2 \
         WHERE sid = ?1 AND expires_at IS NULL AND revoked_at IS NULL",
        args![sid, now],
    )?;
    tx.execute(
        "UPDATE auth_codes SET used_at = ?2 WHERE sid = ?1 AND used_at IS NULL",
        args![sid, now],
    )?;
    tx.query_all(
        "SELECT DISTINCT client_id FROM grants WHERE sid = ?1 ORDER BY 1",
        args![sid],
        |row| row.get(0),
    )
}

/// A grant ended by [`revoke_all_of`]: its client and the session it was
/// obtained in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub client_id: String,
    pub sid: Option<String>,
    /// Its refresh family was still alive (so its client may still be
    /// acting for the citizen without any session here).
    pub family_alive: bool,
}

/// Revokes everything `sub` granted, whatever session it came from:
/// every grant still standing (refresh families included) with its access
/// and refresh tokens, and the codes not yet redeemed. Returns the grants
/// it revoked.
pub fn revoke_all_of(tx: &Tx<'_>, sub: &str, now: i64) -> Result<Vec<Revoked>> {
    tx.execute(
        "UPDATE access_tokens SET revoked_at = ?2 \
         WHERE grant_id IN (SELECT id FROM grants WHERE sub = ?1) AND revoked_at IS NULL",
        args![sub, now],
    )?;
    tx.execute(
        "UPDATE refresh_tokens SET rotated_at = ?2 \
         WHERE grant_id IN (SELECT id FROM grants WHERE sub = ?1) AND rotated_at IS NULL",
        args![sub, now],
    )?;
    tx.execute(
        "UPDATE auth_codes SET used_at = ?2 WHERE sub = ?1 AND used_at IS NULL",
        args![sub, now],
    )?;
    tx.query_all(
        "UPDATE grants SET revoked_at = ?2 WHERE sub = ?1 AND revoked_at IS NULL \
         RETURNING client_id, sid, expires_at IS NOT NULL AND expires_at > ?2",
        args![sub, now],
        |row| {
            Ok(Revoked {
                client_id: row.get(0)?,
                sid: row.get(1)?,
                family_alive: row.get(2)?,
            })
        },
    )
}

/// Revokes every grant of `sub` with `client_id` (a withdrawn consent):
/// their access and refresh tokens and unredeemed codes die with them.
pub fn revoke_client_of(tx: &Tx<'_>, sub: &str, client_id: &str, now: i64) -> Result<Vec<Revoked>> {
    tx.execute(
        "UPDATE access_tokens SET revoked_at = ?3 WHERE grant_id IN \
             (SELECT id FROM grants WHERE sub = ?1 AND client_id = ?2) AND revoked_at IS NULL",
        args![sub, client_id, now],
    )?;
    tx.execute(
        "UPDATE refresh_tokens SET rotated_at = ?3 WHERE grant_id IN \
             (SELECT id FROM grants WHERE sub = ?1 AND client_id = ?2) AND rotated_at IS NULL",
        args![sub, client_id, now],
    )?;
    tx.execute(
        "UPDATE auth_codes SET used_at = ?3 \
             WHERE sub = ?1 AND client_id = ?2 AND used_at IS NULL",
        args![sub, client_id, now],
    )?;
    tx.query_all("UPDATE grants SET revoked_at = ?3 WHERE sub = ?1 AND client_id = ?2 AND revoked_at IS NULL \
         RETURNING client_id, sid, expires_at IS NOT NULL AND expires_at > ?3", args![sub, client_id, now], |row| {
        Ok(Revoked {
            client_id: row.get(0)?,
            sid: row.get(1)?,
            family_alive: row.get(2)?,
        })
    })
}

pub fn revoke_access_token(tx: &Tx<'_>, jti: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE access_tokens SET revoked_at = ?2 WHERE jti = ?1 AND revoked_at IS NULL",
        args![jti, now],
    )?;
    Ok(())
}

pub fn insert_refresh_token(
    tx: &Tx<'_>,
    digest: &str,
    grant_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    tx.write("INSERT INTO refresh_tokens (digest, grant_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)", args![digest, grant_id, now, expires_at])?;
    Ok(())
}

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub grant_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
}

pub fn find_refresh_token(tx: &Tx<'_>, digest: &str) -> Result<Option<RefreshToken>> {
    tx.query_opt(
        "SELECT grant_id, created_at, expires_at, rotated_at FROM refresh_tokens WHERE digest = ?1",
        args![digest],
        |row| {
            Ok(RefreshToken {
                grant_id: row.get(0)?,
                created_at: row.get(1)?,
                expires_at: row.get(2)?,
                rotated_at: row.get(3)?,
            })
        },
    )
}

/// Marks a refresh token rotated; false when it was rotated meanwhile.
pub fn rotate_refresh_token(tx: &Tx<'_>, digest: &str, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE refresh_tokens SET rotated_at = ?2 WHERE digest = ?1 AND rotated_at IS NULL",
        args![digest, now],
    )? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_lookup_is_compiled_once() {
        let conn = crate::store::memory();
        for i in 0..3 {
            active_access_token(&conn.tx(), &format!("j{i}"), "d", i).unwrap();
        }
        let stmt = conn.sql().prepare_cached(ACTIVE_ACCESS_TOKEN).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
