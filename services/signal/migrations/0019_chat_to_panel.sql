-- Chat to a webinar's panel (issue 15): 1 for a message to the host and
-- panelists only (to_participant is then NULL), 0 otherwise.
ALTER TABLE chat_messages ADD COLUMN to_panel BIGINT NOT NULL DEFAULT 0;
