-- Webhooks (F-API-1): a tenant's receivers of meeting, participant and
-- recording events. The signing secret is kept as given (it signs every
-- request, so it cannot be hashed); it is shown to the administrator once.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id);

-- One event for one webhook: written with the change it reports (the
-- outbox), sent until the receiver accepts it or the attempts run out.
-- `next_attempt_at` is NULL once delivered or given up; a replica sending
-- it holds it until `claimed_until`.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    tenant_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    claimed_until BIGINT NOT NULL,
    delivered_at BIGINT,
    last_status BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
