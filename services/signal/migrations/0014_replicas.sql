-- Which signal replica owns each live meeting (issue 11): one row per
-- meeting whose room is open somewhere. The owner renews `expires_at_ms`
-- while the room lives; another replica takes a meeting over only after
-- that time has passed, and each take-over raises `epoch`, so a replica
-- that lost a meeting can no longer renew it (its renewals name the old
-- epoch) and closes its copy of the room.
CREATE TABLE meeting_owners (
    meeting_id TEXT PRIMARY KEY,
    replica_id TEXT NOT NULL,
    replica_url TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- The latest report of every SFU node, written by whichever replica the
-- report reached, so that every replica places rooms knowing all nodes.
CREATE TABLE media_nodes (
    node_id TEXT PRIMARY KEY,
    report TEXT NOT NULL,
    seen_at_ms BIGINT NOT NULL
);
