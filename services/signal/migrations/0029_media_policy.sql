-- The administrator's recording and live-streaming policy (the console's
-- Recording tab), in columns the operator's tenant sync never writes:
-- switches that turn off what the licence allows, and a retention within
-- the licence's (NULL: the licence's).
ALTER TABLE tenants ADD COLUMN recording_off BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN streaming_off BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN admin_retention_days BIGINT;
