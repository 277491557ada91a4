-- Sésame's schema on PostgreSQL: the state SQLite reaches after
-- migrations/0001 to 0011, in one step. Integers are BIGINT (Unix seconds,
-- counters: i64 on the Rust side), flags BOOLEAN, blobs BYTEA. Addresses
-- compare without case as SQLite's COLLATE NOCASE does, through a
-- nondeterministic ICU collation (equality and UNIQUE ignore case).
CREATE COLLATION IF NOT EXISTS sesame_nocase (
    provider = icu, locale = 'und-u-ks-level2', deterministic = false
);

CREATE TABLE users (
    sub                TEXT PRIMARY KEY,
    email              TEXT COLLATE sesame_nocase NOT NULL UNIQUE,
    email_verified     BOOLEAN NOT NULL DEFAULT FALSE,
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
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    disabled_at        BIGINT
);

CREATE TABLE sessions (
    digest          TEXT PRIMARY KEY,
    sid             TEXT NOT NULL UNIQUE,
    sub             TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    auth_time       BIGINT NOT NULL,
    amr             TEXT NOT NULL,
    acr             TEXT,
    created_at      BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE  -- insertion order (SQLite's rowid)
);
CREATE INDEX sessions_sub ON sessions(sub);

CREATE TABLE interactions (
    id         TEXT PRIMARY KEY,
    request    TEXT NOT NULL,          -- the validated authorization request, JSON
    login_sid  TEXT,                   -- set once a login was done for this request
    expires_at BIGINT NOT NULL,
    browser    TEXT,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE  -- insertion order (SQLite's rowid)
);

CREATE TABLE consents (
    sub        TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,          -- space-separated, sorted
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (sub, client_id)
);

CREATE TABLE grants (
    id         TEXT PRIMARY KEY,
    sub        TEXT REFERENCES users(sub) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    claims     TEXT,                   -- the OIDC `claims` request, JSON
    sid        TEXT,
    auth_time  BIGINT,
    amr        TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,                 -- absolute end of a refresh family
    revoked_at BIGINT
);
CREATE INDEX grants_sub ON grants(sub);
CREATE INDEX grants_sid ON grants(sid);

CREATE TABLE refresh_tokens (
    digest     TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,        -- idle lifetime of this token
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

CREATE TABLE access_tokens (
    jti        TEXT COLLATE "C" PRIMARY KEY,  -- time-ordered: housekeeping walks it bytewise
    digest     TEXT NOT NULL,
    grant_id   TEXT REFERENCES grants(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    sub        TEXT,
    scopes     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);

CREATE TABLE auth_codes (
    id             TEXT COLLATE "C" PRIMARY KEY,  -- time-ordered, as access_tokens.jti
    digest         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    sub            TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    claims         TEXT,
    nonce          TEXT,
    code_challenge TEXT,
    sid            TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    amr            TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    grant_id       TEXT
);
CREATE INDEX auth_codes_sid ON auth_codes(sid);

CREATE TABLE mail_queue (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender          TEXT NOT NULL,     -- envelope MAIL FROM
    recipient       TEXT NOT NULL,     -- envelope RCPT TO
    message         BYTEA NOT NULL,    -- the RFC 5322 message, deleted once delivered
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT
);
CREATE INDEX mail_queue_due ON mail_queue(next_attempt_at);

CREATE TABLE mail_requests (
    address    TEXT COLLATE sesame_nocase NOT NULL,  -- the address a mail was asked for
    ip         TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mail_requests_address ON mail_requests(address, created_at);
CREATE INDEX mail_requests_ip ON mail_requests(ip, created_at);
CREATE INDEX mail_requests_address_ip ON mail_requests(address, ip, created_at);

CREATE TABLE backchannel_logouts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       TEXT NOT NULL,
    sub             TEXT NOT NULL,
    sid             TEXT NOT NULL,
    jti             TEXT NOT NULL UNIQUE,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts(next_attempt_at);

CREATE TABLE throttle (
    key           TEXT PRIMARY KEY,
    count         BIGINT NOT NULL,
    since         BIGINT NOT NULL,    -- start of the current run or window
    blocked_until BIGINT NOT NULL     -- no attempt is checked before this time
);

CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    sub        TEXT,
    client_id  TEXT,
    address    TEXT,                   -- the client's IP address
    user_agent TEXT,
    detail     TEXT                    -- a short free text, never a secret
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_sub ON audit(sub, at);

CREATE TABLE retired_subs (
    sub        TEXT PRIMARY KEY,
    retired_at BIGINT NOT NULL
);

CREATE FUNCTION sesame_sub_never_reused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM retired_subs WHERE sub = NEW.sub) THEN
        RAISE EXCEPTION 'this sub belonged to a deleted account';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER users_sub_never_reused BEFORE INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION sesame_sub_never_reused();

CREATE TABLE signups (
    id            TEXT PRIMARY KEY,            -- random, never shown
    email         TEXT COLLATE sesame_nocase NOT NULL,
    password_hash TEXT NOT NULL,
    gender        TEXT,
    given_name    TEXT,
    family_name   TEXT,
    locale        TEXT,
    browser       TEXT,                        -- digest of the signing-up browser's cookie
    interaction   TEXT,                        -- the pending request it was made for
    created_at    BIGINT NOT NULL,
    seq           BIGINT GENERATED ALWAYS AS IDENTITY  -- insertion order (SQLite's rowid)
);
CREATE INDEX signups_email ON signups(email, created_at);

CREATE TABLE email_tokens (
    digest      TEXT PRIMARY KEY,
    sub         TEXT REFERENCES users(sub) ON DELETE CASCADE,
    signup      TEXT REFERENCES signups(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,         -- 'verify' | 'reset'
    interaction TEXT,                  -- the pending authorization request to resume
    browser     TEXT,                  -- digest of the cookie of the browser that asked
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    replaced_at BIGINT,
    CHECK ((sub IS NULL) <> (signup IS NULL))
);
CREATE INDEX email_tokens_sub ON email_tokens(sub, purpose);
CREATE INDEX email_tokens_signup ON email_tokens(signup, purpose);

CREATE TABLE email_changes (
    digest      TEXT PRIMARY KEY,
    sub         TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    new_email   TEXT NOT NULL,
    cancel      TEXT NOT NULL UNIQUE,  -- digest of the « ce n'était pas moi » link sent to the old address
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    replaced_at BIGINT
);
CREATE INDEX email_changes_sub ON email_changes(sub);
