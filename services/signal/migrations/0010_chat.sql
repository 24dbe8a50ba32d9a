-- Chat messages a meeting keeps: they survive a restart of signal and are
-- replayed to participants who join later (public ones, and private ones
-- to or from the same participant).
CREATE TABLE chat_messages (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    from_participant TEXT NOT NULL,
    from_name TEXT NOT NULL,
    to_participant TEXT,
    text TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL
);

CREATE INDEX chat_messages_meeting ON chat_messages (meeting_id, sent_at_ms);
