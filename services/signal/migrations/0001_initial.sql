-- Portable between SQLite and PostgreSQL: TEXT ids, BIGINT times (Unix seconds)
-- and flags, `$n` placeholders in queries.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email TEXT UNIQUE,
    phone TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Bearer tokens are stored as SHA-256 hashes only.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    number TEXT NOT NULL,
    topic TEXT NOT NULL,
    password TEXT,
    link_key TEXT NOT NULL,
    host_account_id TEXT NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT
);

-- A number is unique among meetings that have not ended.
CREATE UNIQUE INDEX meetings_open_number ON meetings (number) WHERE status <> 'ended';
CREATE INDEX meetings_tenant ON meetings (tenant_id, created_at);
