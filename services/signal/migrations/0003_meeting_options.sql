-- A meeting's settings (yunhui_proto::api::MeetingOptions) as JSON text;
-- missing fields read as their defaults.
ALTER TABLE meetings ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
