-- Refresh tokens (issue 17, F-ACC-1): each session also has a refresh token,
-- stored as a SHA-256 hash like the bearer token, exchanged once for a new
-- session. Every session refreshed from one sign-in shares its `family`; a
-- spent refresh token presented again betrays a copy and ends the family.
ALTER TABLE sessions ADD COLUMN refresh_hash TEXT;
ALTER TABLE sessions ADD COLUMN refresh_expires_at BIGINT;
ALTER TABLE sessions ADD COLUMN family TEXT;
CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);
CREATE INDEX sessions_family ON sessions (family);

CREATE TABLE spent_refresh_tokens (
    refresh_hash TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    spent_at BIGINT NOT NULL
);
