-- Each account's frequent contacts (F-DIR-1): colleagues of its own
-- enterprise it keeps at hand.
CREATE TABLE frequent_contacts (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    contact_id TEXT NOT NULL REFERENCES accounts (id),
    tenant_id TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, contact_id)
);

-- An enterprise's meeting devices (F-DIR-1): room systems with the SIP
-- address that calls them, listed in the directory to invite and schedule.
CREATE TABLE meeting_devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    location TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX meeting_devices_by_address ON meeting_devices (tenant_id, address);
