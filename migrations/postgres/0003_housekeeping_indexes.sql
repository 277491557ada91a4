-- Housekeeping finds what it removes through an index (SQLite's 0013).
-- Ended grants, by the time they ended, oldest first.
CREATE INDEX grants_end ON grants ((COALESCE(revoked_at, expires_at, created_at)));

-- Unverified accounts, by age (only accounts created unverified are in it).
CREATE INDEX users_unverified ON users (created_at) WHERE NOT email_verified;
