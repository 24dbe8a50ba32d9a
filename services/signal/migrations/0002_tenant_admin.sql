-- Tenant records managed by the operator through the internal tenant admin
-- API (issue 3). Portable between SQLite and PostgreSQL: JSON kept as TEXT.
ALTER TABLE tenants ADD COLUMN domains TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN licence TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN features TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN recording_retention_days BIGINT NOT NULL DEFAULT 30;
ALTER TABLE tenants ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN deleted_at BIGINT;
