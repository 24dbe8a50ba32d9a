-- Group chats (F-DIR-2): colleagues of one enterprise talking outside
-- meetings. A member's `last_read_id` is the newest message it read;
-- message ids are time-ordered (UUID v7), so the unread ones are those
-- after it. `origin` is the signal replica that took the message: the
-- others push it to the members' sockets they hold.
CREATE TABLE group_chats (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE group_chat_members (
    chat_id TEXT NOT NULL REFERENCES group_chats (id),
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    last_read_id TEXT,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (chat_id, account_id)
);
CREATE INDEX group_chat_members_by_account ON group_chat_members (tenant_id, account_id);

CREATE TABLE group_chat_messages (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL REFERENCES group_chats (id),
    tenant_id TEXT NOT NULL,
    sender_account_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    text TEXT NOT NULL,
    meeting_number TEXT,
    meeting_topic TEXT,
    meeting_link_key TEXT,
    origin TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX group_chat_messages_by_chat ON group_chat_messages (chat_id, id);
-- What the other replicas read every second: the last few seconds' messages.
CREATE INDEX group_chat_messages_by_time ON group_chat_messages (sent_at);
