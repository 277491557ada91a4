//! The portal's own SQLite: portal accounts (identifiant, argon2 password,
//! the `sub` they are linked to), their families (« Ma famille »), the
//! browser sessions, the logout tokens already seen and the counters that
//! throttle « J'ai déjà un compte ». All SQL is here.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The demo portal account (documented in the README).
pub const DEMO_IDENTIFIANT: &str = "mdupuis";
pub const DEMO_PASSWORD: &str = "Espace-Citoyens-94";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    identifiant TEXT NOT NULL UNIQUE,
    password_hash TEXT,            -- NULL: an espace created through the provider
    civilite TEXT NOT NULL,
    nom TEXT NOT NULL,
    prenom TEXT NOT NULL,
    email TEXT NOT NULL,
    telephone TEXT,
    sub TEXT UNIQUE,               -- the provider's subject once linked
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS family_members (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    relation TEXT NOT NULL CHECK (relation IN ('conjoint', 'enfant', 'contact')),
    prenom TEXT NOT NULL,
    nom TEXT NOT NULL,
    date_naissance TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,       -- SHA-256 of the cookie value
    sub TEXT,
    sid TEXT,
    expires_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_sub ON sessions(sub);
CREATE INDEX IF NOT EXISTS sessions_sid ON sessions(sid);
CREATE TABLE IF NOT EXISTS seen_logout_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS link_throttle (
    key TEXT PRIMARY KEY,          -- 'identifiant:…' or 'sub:…' (throttle.rs)
    failures INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL
) WITHOUT ROWID;
";

/// One connection behind a mutex, used off the async executor.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, String> {
        let conn =
            Connection::open(path).map_err(|e| format!("database {}: {e}", path.display()))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .and_then(|_| conn.execute_batch(SCHEMA))
            .map_err(|e| format!("database {}: {e}", path.display()))?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection in a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = match conn.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            f(&mut guard).map_err(|e| format!("database: {e}"))
        })
        .await
        .map_err(|e| format!("database task: {e}"))?
    }

    /// Creates the demo account and its family when the database is new.
    pub async fn seed_demo(&self) -> Result<(), String> {
        if self
            .run(|c| by_identifiant(c, DEMO_IDENTIFIANT))
            .await?
            .is_some()
        {
            return Ok(());
        }
        let hash = hash_password(DEMO_PASSWORD).await?;
        self.run(move |c| {
            let tx = c.transaction()?;
            let id = insert_account(
                &tx,
                &NewAccount {
                    identifiant: DEMO_IDENTIFIANT.into(),
                    password_hash: Some(hash),
                    civilite: "Mme".into(),
                    nom: "DUPUIS".into(),
                    prenom: "Marie".into(),
                    email: "marie.dupuis@example.test".into(),
                    telephone: Some("01 45 25 26 23".into()),
                    sub: None,
                },
                0,
            )?;
            for (relation, prenom, date) in [
                ("conjoint", "Yves", Some("1979-02-11")),
                ("enfant", "Gabriel", Some("2012-03-02")),
                ("enfant", "Léo", Some("2015-09-21")),
                ("enfant", "Nelly", Some("2019-05-12")),
                ("contact", "Jeanne", None),
            ] {
                tx.execute(
                    "INSERT INTO family_members (account_id, relation, prenom, nom, date_naissance)
                     VALUES (?1, ?2, ?3, 'DUPUIS', ?4)",
                    params![id, relation, prenom, date],
                )?;
            }
            tx.commit()
        })
        .await
    }
}

/// A portal account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub identifiant: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub telephone: Option<String>,
    pub sub: Option<String>,
}

pub struct NewAccount {
    pub identifiant: String,
    pub password_hash: Option<String>,
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub telephone: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FamilyMember {
    pub relation: String,
    pub prenom: String,
    pub nom: String,
    pub date_naissance: Option<String>,
}

/// `1979-02-11` → `11/02/1979` (as French pages write dates).
pub fn date_fr(iso: &str) -> String {
    match iso.splitn(3, '-').collect::<Vec<_>>()[..] {
        [y, m, d] => format!("{d}/{m}/{y}"),
        _ => iso.to_owned(),
    }
}

const ACCOUNT_COLUMNS: &str =
    "id, identifiant, password_hash, civilite, nom, prenom, email, telephone, sub";

fn account_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        identifiant: row.get(1)?,
        password_hash: row.get(2)?,
        civilite: row.get(3)?,
        nom: row.get(4)?,
        prenom: row.get(5)?,
        email: row.get(6)?,
        telephone: row.get(7)?,
        sub: row.get(8)?,
    })
}

pub fn by_identifiant(c: &Connection, identifiant: &str) -> rusqlite::Result<Option<Account>> {
    c.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE identifiant = ?1"),
        [identifiant],
        account_row,
    )
    .optional()
}

pub fn by_id(c: &Connection, id: i64) -> rusqlite::Result<Option<Account>> {
    c.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
        [id],
        account_row,
    )
    .optional()
}

pub fn by_sub(c: &Connection, sub: &str) -> rusqlite::Result<Option<Account>> {
    c.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE sub = ?1"),
        [sub],
        account_row,
    )
    .optional()
}

pub fn insert_account(c: &Connection, a: &NewAccount, now: i64) -> rusqlite::Result<i64> {
    c.execute(
        "INSERT INTO accounts (identifiant, password_hash, civilite, nom, prenom, email, telephone, sub, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![a.identifiant, a.password_hash, a.civilite, a.nom, a.prenom, a.email, a.telephone, a.sub, now],
    )?;
    Ok(c.last_insert_rowid())
}

/// Links account `id` to `sub` if neither is linked yet; returns whether it did.
pub fn link(c: &Connection, id: i64, sub: &str) -> rusqlite::Result<bool> {
    let taken: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE sub = ?1)",
        [sub],
        |r| r.get(0),
    )?;
    if taken {
        return Ok(false);
    }
    Ok(c.execute(
        "UPDATE accounts SET sub = ?2 WHERE id = ?1 AND sub IS NULL",
        params![id, sub],
    )? == 1)
}

pub fn family(c: &Connection, account_id: i64) -> rusqlite::Result<Vec<FamilyMember>> {
    let mut stmt = c.prepare_cached(
        "SELECT relation, prenom, nom, date_naissance FROM family_members
         WHERE account_id = ?1 ORDER BY date_naissance IS NULL, date_naissance, id",
    )?;
    stmt.query_map([account_id], |r| {
        Ok(FamilyMember {
            relation: r.get(0)?,
            prenom: r.get(1)?,
            nom: r.get(2)?,
            date_naissance: r.get::<_, Option<String>>(3)?.map(|d| date_fr(&d)),
        })
    })?
    .collect()
}

// --- sessions -------------------------------------------------------------

pub fn session_get(c: &Connection, digest: &str, now: i64) -> rusqlite::Result<Option<String>> {
    c.query_row(
        "SELECT data FROM sessions WHERE digest = ?1 AND expires_at > ?2",
        params![digest, now],
        |r| r.get(0),
    )
    .optional()
}

pub fn session_put(
    c: &Connection,
    digest: &str,
    sub: Option<&str>,
    sid: Option<&str>,
    expires_at: i64,
    data: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO sessions (digest, sub, sid, expires_at, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (digest) DO UPDATE SET sub = ?2, sid = ?3, expires_at = ?4, data = ?5",
        params![digest, sub, sid, expires_at, data],
    )?;
    Ok(())
}

pub fn session_delete(c: &Connection, digest: &str) -> rusqlite::Result<()> {
    c.execute("DELETE FROM sessions WHERE digest = ?1", [digest])?;
    Ok(())
}

/// Back-channel logout: ends the sessions of `sid` (when given, within
/// `sub` if given too), else every session of `sub`. Returns how many.
pub fn sessions_end(
    c: &Connection,
    sub: Option<&str>,
    sid: Option<&str>,
) -> rusqlite::Result<usize> {
    match (sid, sub) {
        (Some(sid), Some(sub)) => c.execute(
            "DELETE FROM sessions WHERE sid = ?1 AND sub = ?2",
            params![sid, sub],
        ),
        (Some(sid), None) => c.execute("DELETE FROM sessions WHERE sid = ?1", [sid]),
        (None, Some(sub)) => c.execute("DELETE FROM sessions WHERE sub = ?1", [sub]),
        (None, None) => Ok(0),
    }
}

/// Records a logout token's `jti`; false when it was already seen.
pub fn logout_jti_first_use(c: &Connection, jti: &str, expires_at: i64) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO seen_logout_tokens (jti, expires_at) VALUES (?1, ?2)",
        params![jti, expires_at],
    )? == 1)
}

pub fn purge_expired(c: &Connection, now: i64) -> rusqlite::Result<()> {
    c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    c.execute(
        "DELETE FROM seen_logout_tokens WHERE expires_at <= ?1",
        [now],
    )?;
    Ok(())
}

// --- throttle of « J'ai déjà un compte » (rules in throttle.rs) ------------

/// Failed attempts of one key.
pub struct LinkCounter {
    pub failures: i64,
    pub last_failure: i64,
    pub blocked_until: i64,
}

pub fn link_counter(c: &Connection, key: &str) -> rusqlite::Result<Option<LinkCounter>> {
    c.query_row(
        "SELECT failures, last_failure, blocked_until FROM link_throttle WHERE key = ?1",
        [key],
        |r| {
            Ok(LinkCounter {
                failures: r.get(0)?,
                last_failure: r.get(1)?,
                blocked_until: r.get(2)?,
            })
        },
    )
    .optional()
}

pub fn put_link_counter(c: &Connection, key: &str, k: &LinkCounter) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO link_throttle (key, failures, last_failure, blocked_until) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE \
         SET failures = ?2, last_failure = ?3, blocked_until = ?4",
        params![key, k.failures, k.last_failure, k.blocked_until],
    )?;
    Ok(())
}

pub fn delete_link_counter(c: &Connection, key: &str) -> rusqlite::Result<()> {
    c.execute("DELETE FROM link_throttle WHERE key = ?1", [key])?;
    Ok(())
}

// --- passwords --------------------------------------------------------------

/// argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1), off the executor.
pub async fn hash_password(password: &str) -> Result<String, String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("argon2: {e}"))
    })
    .await
    .map_err(|e| format!("argon2 task: {e}"))?
}

/// Checks `password` against `hash`; with no hash (unknown identifiant, or
/// an espace without a portal password) a dummy hash is checked anyway so
/// that the answer takes the same time.
pub async fn verify_password(hash: Option<String>, password: &str) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => (dummy_hash().to_owned(), false),
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real
    })
    .await
    .unwrap_or(false)
}

/// argon2id of a random string nobody knows.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 16];
        rand::fill(&mut secret);
        Argon2::default()
            .hash_password(&secret)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}
