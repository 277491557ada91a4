-- The second factor: a TOTP key (RFC 6238: SHA-1, 6 digits, 30 s) and its
-- recovery codes. A key whose `confirmed_at` is NULL is an enrolment still
-- waiting for its first right code: it protects nothing yet.
CREATE TABLE totp (
    sub          TEXT PRIMARY KEY REFERENCES users(sub) ON DELETE CASCADE,
    -- base32, as the authenticator app holds it: a TOTP key must be read
    -- back to compute codes, so it cannot be stored as a digest.
    secret       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    -- the newest time step accepted: a code of that step or an older one
    -- is refused (RFC 6238 §5.2, no replay).
    last_step    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Ten single-use codes for a lost phone, stored as digests only; a new set
-- replaces the old one as a whole.
CREATE TABLE recovery_codes (
    sub     TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    digest  TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (sub, digest)
) WITHOUT ROWID;
