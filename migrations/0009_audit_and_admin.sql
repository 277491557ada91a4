-- The audit trail, disabled accounts and the subjects of deleted accounts.
-- Times are Unix seconds.

-- Security events, without secrets (docs/operations.md lists the kinds).
-- `sub` is not a foreign key: the record of an account's deletion outlives
-- the account, until `audit_retention_days` purges it.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    sub        TEXT,
    client_id  TEXT,
    address    TEXT,                   -- the client's IP address
    user_agent TEXT,
    detail     TEXT                    -- a short free text, never a secret
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_sub ON audit(sub, at);

-- Set by `sesame user disable`, cleared by `enable`.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- A deleted account's `sub` is never given again: a relying party that
-- kept it must never see it name somebody else (OIDC Core §2: locally
-- unique and never reassigned).
CREATE TABLE retired_subs (
    sub        TEXT PRIMARY KEY,
    retired_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER users_sub_never_reused BEFORE INSERT ON users
WHEN EXISTS (SELECT 1 FROM retired_subs WHERE sub = NEW.sub)
BEGIN
    SELECT RAISE(ABORT, 'this sub belonged to a deleted account');
END;
