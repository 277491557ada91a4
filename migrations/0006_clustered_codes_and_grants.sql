-- Codes and grants as WITHOUT ROWID tables: each row lives in its primary-key
-- b-tree instead of a rowid table plus a primary-key index, so an insert
-- writes one page fewer and a lookup descends one b-tree instead of two.
-- Grant ids are time-ordered from now on, and so are codes' keys: a code is
-- its key followed by 256 random bits, stored as the key and the SHA-256 of
-- the whole code; new rows are appended to the rightmost page instead of a
-- random one. Codes live 60 seconds: those in flight during the upgrade
-- (keyed by digest alone) are not kept, and their clients start again.
-- Run with foreign keys off (see `migrate`), as SQLite's table-rebuild
-- procedure requires: dropping `grants` must not cascade to its tokens.
CREATE TABLE auth_codes_0006 (
    id             TEXT PRIMARY KEY,
    digest         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    sub            TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    claims         TEXT,
    nonce          TEXT,
    code_challenge TEXT,
    sid            TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    amr            TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    grant_id       TEXT
) WITHOUT ROWID;
DROP TABLE auth_codes;
ALTER TABLE auth_codes_0006 RENAME TO auth_codes;
CREATE INDEX auth_codes_sid ON auth_codes(sid);

CREATE TABLE grants_0006 (
    id         TEXT PRIMARY KEY,
    sub        TEXT REFERENCES users(sub) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    claims     TEXT,                   -- the OIDC `claims` request, JSON
    sid        TEXT,
    auth_time  INTEGER,
    amr        TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                -- absolute end of a refresh family
    revoked_at INTEGER
) WITHOUT ROWID;
INSERT INTO grants_0006 SELECT id, sub, client_id, scopes, claims, sid, auth_time, amr,
    created_at, expires_at, revoked_at FROM grants;
DROP TABLE grants;
ALTER TABLE grants_0006 RENAME TO grants;
CREATE INDEX grants_sub ON grants(sub);
CREATE INDEX grants_sid ON grants(sid);
