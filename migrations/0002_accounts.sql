-- Citizen accounts (issue 3): email links for verification and password
-- reset, the durable mail queue, and the record of mail requests used by
-- the abuse limits. Link tokens are stored only as SHA-256 digests (hex);
-- times are Unix seconds.

CREATE TABLE email_tokens (
    digest      TEXT PRIMARY KEY,
    sub         TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,         -- 'verify' | 'reset'
    interaction TEXT,                  -- the pending authorization request to resume
    browser     TEXT,                  -- digest of the cookie of the browser that asked
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,               -- set when redeemed
    replaced_at INTEGER                -- set when a newer link of the same purpose was sent
);
CREATE INDEX email_tokens_sub ON email_tokens(sub, purpose);

CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    sender          TEXT NOT NULL,     -- envelope MAIL FROM
    recipient       TEXT NOT NULL,     -- envelope RCPT TO
    message         BLOB NOT NULL,     -- the RFC 5322 message, deleted once delivered
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
CREATE INDEX mail_queue_due ON mail_queue(next_attempt_at);

CREATE TABLE mail_requests (
    address    TEXT NOT NULL COLLATE NOCASE,  -- the address a mail was asked for
    ip         TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX mail_requests_address ON mail_requests(address, created_at);
CREATE INDEX mail_requests_ip ON mail_requests(ip, created_at);
