-- Access tokens as one b-tree keyed by a time-ordered jti (WITHOUT ROWID), so
-- each insert lands on the rightmost page instead of three random ones (the
-- rowid table, the jti index and the digest index). A presented token is
-- found by the jti its payload names and recognised by the SHA-256 of the
-- token as issued, which needs no other index. Rows from before 0004 have no
-- digest: they expired long ago and are not kept.
CREATE TABLE access_tokens_0005 (
    jti        TEXT PRIMARY KEY,
    digest     TEXT NOT NULL,
    grant_id   TEXT REFERENCES grants(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    sub        TEXT,
    scopes     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
INSERT INTO access_tokens_0005 (jti, digest, grant_id, client_id, sub, scopes, expires_at, revoked_at)
    SELECT jti, digest, grant_id, client_id, sub, scopes, expires_at, revoked_at
    FROM access_tokens WHERE digest IS NOT NULL;
DROP TABLE access_tokens;
ALTER TABLE access_tokens_0005 RENAME TO access_tokens;
-- Not a partial index (WHERE grant_id IS NOT NULL): a partial index makes
-- SQLite recompile a statement on every new binding of a parameter it
-- compared with the index's condition, which cost userinfo a full SQL parse
-- per request. Client tokens (no grant) sit together in the NULL run.
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);
