-- Private chat follows signed-in accounts: a participant who leaves and
-- rejoins the meeting (with a new participant id) gets back the private
-- messages their account sent or received.
ALTER TABLE chat_messages ADD COLUMN from_account TEXT;
ALTER TABLE chat_messages ADD COLUMN to_account TEXT;
