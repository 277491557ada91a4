-- The second factor (SQLite's 0012): a TOTP key (RFC 6238: SHA-1, 6 digits,
-- 30 s) and its recovery codes. A key whose `confirmed_at` is NULL is an
-- enrolment still waiting for its first right code: it protects nothing yet.
CREATE TABLE totp (
    sub          TEXT PRIMARY KEY REFERENCES users(sub) ON DELETE CASCADE,
    -- base32, as the authenticator app holds it: a TOTP key must be read
    -- back to compute codes, so it cannot be stored as a digest.
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    -- the newest time step accepted: a code of that step or an older one
    -- is refused (RFC 6238 §5.2, no replay).
    last_step    BIGINT NOT NULL DEFAULT 0
);

-- Ten single-use codes for a lost phone, stored as digests only; a new set
-- replaces the old one as a whole.
CREATE TABLE recovery_codes (
    sub     TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    digest  TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (sub, digest)
);
