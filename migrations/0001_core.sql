-- Core schema: citizens, browser sessions, pending authorization requests,
-- consents, codes, grants and access tokens. Secrets are stored only as
-- SHA-256 digests (hex); times are Unix seconds.

CREATE TABLE users (
    sub                TEXT PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email_verified     INTEGER NOT NULL DEFAULT 0,
    password_hash      TEXT NOT NULL,
    gender             TEXT,
    given_name         TEXT,
    family_name        TEXT,
    preferred_username TEXT,
    birthdate          TEXT,
    birthplace         TEXT,
    birthcountry       TEXT,
    phone_number       TEXT,
    street_address     TEXT,
    postal_code        TEXT,
    locality           TEXT,
    country            TEXT,
    roles              TEXT NOT NULL DEFAULT '[]',
    locale             TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE sessions (
    digest          TEXT PRIMARY KEY,
    sid             TEXT NOT NULL UNIQUE,
    sub             TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    auth_time       INTEGER NOT NULL,
    amr             TEXT NOT NULL,
    acr             TEXT,
    created_at      INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX sessions_sub ON sessions(sub);

CREATE TABLE interactions (
    id         TEXT PRIMARY KEY,
    request    TEXT NOT NULL,          -- the validated authorization request, JSON
    login_sid  TEXT,                   -- set once a login was done for this request
    expires_at INTEGER NOT NULL
);

CREATE TABLE consents (
    sub        TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,          -- space-separated, sorted
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (sub, client_id)
);

CREATE TABLE grants (
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
);
CREATE INDEX grants_sub ON grants(sub);
CREATE INDEX grants_sid ON grants(sid);

CREATE TABLE auth_codes (
    digest         TEXT PRIMARY KEY,
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
);

CREATE TABLE refresh_tokens (
    digest     TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,       -- idle lifetime of this token
    rotated_at INTEGER
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    grant_id   TEXT REFERENCES grants(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    sub        TEXT,
    scopes     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);
