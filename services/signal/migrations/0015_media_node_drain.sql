-- A node the operator marked draining (issue 11): every replica reads the
-- mark with the node's reports, so none places a new room on it, whichever
-- replica the operator's request reached.
ALTER TABLE media_nodes ADD COLUMN drain_marked BIGINT NOT NULL DEFAULT 0;
