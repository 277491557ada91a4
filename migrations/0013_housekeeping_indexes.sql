-- Housekeeping finds what it removes through an index instead of reading
-- whole tables every five minutes (store/expired.rs, accounts/links.rs).
--
-- Ended grants, by the time they ended, oldest first. The key is the same
-- expression the purge compares, so SQLite uses it; a new grant's end (its
-- creation, or the end of its refresh family) is near the largest key, so
-- inserts append.
CREATE INDEX grants_end ON grants(COALESCE(revoked_at, expires_at, created_at));

-- Unverified accounts, by age: only accounts created unverified (by
-- `user add` or `user import`) are in it, so sign-ups and sign-ins never
-- write to it. Without it the purge read every citizen's row: 4 s at a
-- million citizens, with every request waiting.
CREATE INDEX users_unverified ON users(created_at) WHERE email_verified = 0;
