-- Account roles and approval (F-ACC-2, F-ACC-3): self-registered accounts of
-- a company tenant wait for a tenant administrator's approval.
ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE accounts ADD COLUMN department TEXT;

-- Per-tenant API keys for integrations (F-API-1): only SHA-256 hashes are kept.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
