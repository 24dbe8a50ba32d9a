-- Cloud recordings (issue 12): one row per recorded file ("My videos").
-- A recording's pauses and stop each close a file; `state` is `recording`
-- while the recorder writes it, `ready` once finished, `interrupted` when
-- the recorder stopped before finishing it (the file plays up to there).
-- `file_location` is the base URL of the recorder that holds the file when
-- signal cannot read the recordings directory itself (a cluster's recorder
-- pods keep their files on their own volumes); NULL for files in it.
-- `media_key` lets a <video> element stream the file without a bearer
-- token; it is handed only to whoever may see the recording.
CREATE TABLE recordings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    meeting_id TEXT NOT NULL,
    meeting_number TEXT NOT NULL,
    owner_account_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    segment_index BIGINT NOT NULL,
    title TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_location TEXT,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    expires_at BIGINT,
    media_key TEXT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX recordings_by_owner ON recordings (tenant_id, owner_account_id);
CREATE UNIQUE INDEX recordings_by_segment ON recordings (job_id, segment_index);

-- The default tenant (`yunhui up`, and single-tenant installs without
-- Tenant resources) may record, stream and use SIP unless told otherwise.
UPDATE tenants SET features = '{"recording":true,"streaming":true,"sip":true}'
    WHERE id = 'default' AND features = '{}';
