-- The SHA-256 of each access token as issued, so that userinfo recognises a
-- token it issued by one index lookup instead of an ECDSA verification.
ALTER TABLE access_tokens ADD COLUMN digest TEXT;
CREATE UNIQUE INDEX access_tokens_digest ON access_tokens(digest) WHERE digest IS NOT NULL;
