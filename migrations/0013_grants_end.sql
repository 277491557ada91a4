-- Housekeeping removes ended grants a small batch at a time (store/expired.rs):
-- this index finds them by the time they ended, oldest first, instead of
-- reading the whole table every five minutes. Its key is the same expression
-- the purge compares, so SQLite uses it; a new grant's end (its creation, or
-- the end of its refresh family) is near the largest key, so inserts append.
CREATE INDEX grants_end ON grants(COALESCE(revoked_at, expires_at, created_at));
