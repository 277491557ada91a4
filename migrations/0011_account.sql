-- « Mon compte »: what the citizen's own space needs.
-- Which browser and address a session was opened from, for the list of
-- signed-in browsers (recorded once, when the session cookie is set).
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- An address change waiting for its link to be opened: the new address is
-- kept here, not in `users`, so the address in use stays verified until
-- the new one is proven. A new request replaces the earlier ones.
CREATE TABLE email_changes (
    digest      TEXT PRIMARY KEY,
    sub         TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    new_email   TEXT NOT NULL,
    cancel      TEXT NOT NULL UNIQUE,  -- digest of the « ce n'était pas moi » link sent to the old address
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    replaced_at INTEGER
);
CREATE INDEX email_changes_sub ON email_changes(sub);
