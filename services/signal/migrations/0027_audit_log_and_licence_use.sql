-- The audit log of administrative actions (the console's audit page): who
-- did what to which account, department, device, key, webhook or cloud
-- room, written in the same transaction as the change itself. Ids are
-- time-ordered (UUID v7), so they page the log newest first.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    at BIGINT NOT NULL,
    actor_account_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    api_key_id TEXT,
    action TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, id);

-- Licence use: each live meeting's participants, written by the replica
-- that owns it whenever the number changes, and the tenant's busiest
-- moments so far.
ALTER TABLE meetings ADD COLUMN participants BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN peak_participants BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN peak_participants_at BIGINT;
ALTER TABLE tenants ADD COLUMN peak_meetings BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN peak_meetings_at BIGINT;
