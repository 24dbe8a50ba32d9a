-- Scheduled and recurring meetings (F-MTG-2..5). A scheduled meeting is a
-- row in `meetings` (so joining by number or link is unchanged) plus its
-- schedule here; a series shares one number. Local wall-clock times are kept
-- as text (`YYYY-MM-DDTHH:MM`) in the meeting's IANA time zone; instants are
-- Unix seconds. `first_start`/`last_end` bound the whole series (exceptions
-- included) so list queries can skip schedules outside their window.
CREATE TABLE schedules (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    start_local TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    recurrence TEXT,
    devices TEXT NOT NULL DEFAULT '[]',
    location TEXT,
    first_start BIGINT NOT NULL,
    last_end BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_window ON schedules (tenant_id, last_end);

CREATE TABLE schedule_invitees (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (meeting_id, account_id)
);
CREATE INDEX schedule_invitees_account ON schedule_invitees (tenant_id, account_id);

-- One changed or cancelled occurrence of a series, keyed by the local date
-- the series places it on, so it survives edits of the series' time.
CREATE TABLE schedule_exceptions (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    occurrence_date TEXT NOT NULL,
    cancelled BIGINT NOT NULL DEFAULT 0,
    start_local TEXT,
    duration_minutes BIGINT,
    topic TEXT,
    PRIMARY KEY (meeting_id, occurrence_date)
);

-- Every time a meeting (or one occurrence of a series) ends: the history list.
CREATE TABLE meeting_history (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    number TEXT NOT NULL,
    topic TEXT NOT NULL,
    host_account_id TEXT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT NOT NULL
);
CREATE INDEX meeting_history_tenant ON meeting_history (tenant_id, ended_at);
