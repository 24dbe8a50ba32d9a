-- Breakout rooms (issue 15): a message to everyone written in a breakout
-- room goes to that room only, and is in nobody's history.
ALTER TABLE chat_messages ADD COLUMN breakout TEXT;
