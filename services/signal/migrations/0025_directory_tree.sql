-- The organisation as a tree of departments (F-DIR-1), and the ids an
-- enterprise's own directory (its OA system, a WeCom- or DingTalk-style
-- directory) gives its departments and users, by which provisioning
-- (F-API-1) finds them again. `accounts.department` keeps the department's
-- name for search.
CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    external_id TEXT,
    name TEXT NOT NULL,
    parent_id TEXT,
    disabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX departments_by_external_id ON departments (tenant_id, external_id);
CREATE INDEX departments_by_parent ON departments (tenant_id, parent_id);

ALTER TABLE accounts ADD COLUMN external_id TEXT;
ALTER TABLE accounts ADD COLUMN department_id TEXT;
CREATE UNIQUE INDEX accounts_by_external_id ON accounts (tenant_id, external_id);
CREATE INDEX accounts_by_department ON accounts (tenant_id, department_id);
