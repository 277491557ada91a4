-- Logout (issue 4): the durable queue of Back-Channel Logout 1.0 deliveries,
-- and an index so that ending a session finds its unredeemed codes.
-- A row is one logout token to POST to one client; it is deleted once the
-- client answered 2xx, or given up after the last retry. The token itself is
-- signed at each attempt from these fields (its `jti` stays the same).

CREATE TABLE backchannel_logouts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT NOT NULL,
    sub             TEXT NOT NULL,
    sid             TEXT NOT NULL,
    jti             TEXT NOT NULL UNIQUE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts(next_attempt_at);

CREATE INDEX auth_codes_sid ON auth_codes(sid);
