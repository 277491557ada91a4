-- Pending sign-ups and browser-bound pending requests.
--
-- A sign-up no longer creates an account: it is a pending row with its own
-- argon2 hash until its activation link is confirmed through the mailbox.
-- Several may wait for one address (a stranger's cannot block the owner's);
-- confirming one creates the account and removes every other one.
CREATE TABLE signups (
    id            TEXT PRIMARY KEY,            -- random, never shown
    email         TEXT NOT NULL COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    gender        TEXT,
    given_name    TEXT,
    family_name   TEXT,
    locale        TEXT,
    browser       TEXT,                        -- digest of the signing-up browser's cookie
    interaction   TEXT,                        -- the pending request it was made for
    created_at    INTEGER NOT NULL
);
CREATE INDEX signups_email ON signups(email, created_at);

-- A link names either an account (`sub`) or a pending sign-up (`signup`).
CREATE TABLE email_tokens_v2 (
    digest      TEXT PRIMARY KEY,
    sub         TEXT REFERENCES users(sub) ON DELETE CASCADE,
    signup      TEXT REFERENCES signups(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,         -- 'verify' | 'reset'
    interaction TEXT,                  -- the pending authorization request to resume
    browser     TEXT,                  -- digest of the cookie of the browser that asked
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    replaced_at INTEGER,
    CHECK ((sub IS NULL) <> (signup IS NULL))
);
INSERT INTO email_tokens_v2 (digest, sub, purpose, interaction, browser, created_at, expires_at, used_at, replaced_at)
    SELECT digest, sub, purpose, interaction, browser, created_at, expires_at, used_at, replaced_at FROM email_tokens;
DROP TABLE email_tokens;
ALTER TABLE email_tokens_v2 RENAME TO email_tokens;
CREATE INDEX email_tokens_sub ON email_tokens(sub, purpose);
CREATE INDEX email_tokens_signup ON email_tokens(signup, purpose);

-- The browser that created a pending request (digest of its `sesame_link`
-- cookie): pages accept the id only from that browser.
ALTER TABLE interactions ADD COLUMN browser TEXT;
