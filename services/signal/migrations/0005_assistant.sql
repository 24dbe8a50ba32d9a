-- The manual's 管理助手 (3.8, F-MTG-6): physical meeting locations of a
-- tenant, personal meeting templates, and personal cloud meeting rooms (a
-- `meetings` row with a fixed number that never ends, plus its members).
CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    address TEXT,
    capacity BIGINT,
    created_by TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX locations_tenant_name ON locations (tenant_id, name);

-- `settings` is yunhui_proto::schedule::TemplateRequest as JSON text.
CREATE TABLE meeting_templates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    owner_account_id TEXT NOT NULL REFERENCES accounts (id),
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX meeting_templates_owner ON meeting_templates (tenant_id, owner_account_id);

CREATE TABLE cloud_rooms (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    owner_account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE cloud_room_members (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (meeting_id, account_id)
);
CREATE INDEX cloud_room_members_account ON cloud_room_members (tenant_id, account_id);
