-- Invitations during a meeting, shared by several signal replicas (issue
-- 11): the invitee's listening sockets may be on any replica. The replica
-- placing a call writes it; another replica that rings it writes `rang_by`;
-- an answer on any replica is written to `answer`, and the placing replica
-- tells the inviter. Rows are deleted after two minutes.
CREATE TABLE ringing_calls (
    call_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    meeting_number TEXT NOT NULL,
    topic TEXT NOT NULL,
    inviter TEXT NOT NULL,
    link_key TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at_ms BIGINT NOT NULL,
    rang_by TEXT,
    answer TEXT
);
CREATE INDEX ringing_calls_placed_at ON ringing_calls (placed_at_ms);
