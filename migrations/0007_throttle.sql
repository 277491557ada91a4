-- Throttling counters: failed sign-ins per submitted address and per client
-- address, pending requests created per client address. In the database (not
-- in memory) so that they survive a restart and can later be shared by
-- several nodes. `key` says what is counted ("account:…", "ip:…", …).
CREATE TABLE throttle (
    key           TEXT PRIMARY KEY,
    count         INTEGER NOT NULL,
    since         INTEGER NOT NULL,   -- start of the current run or window
    blocked_until INTEGER NOT NULL    -- no attempt is checked before this time
) WITHOUT ROWID;

-- Mail limits count per (address, requester) as well as per address.
CREATE INDEX mail_requests_address_ip ON mail_requests(address, ip, created_at);
