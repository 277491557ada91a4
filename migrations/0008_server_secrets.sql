-- Secrets of the server itself, made at first start and kept with the data
-- (so they survive a restart and every node reading this database shares
-- them): `csrf` is the key that binds a form's CSRF token to its browser.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
