-- Live streaming per cloud room (F-REC-2, the manual's 3.3.4): a tenant
-- administrator allows it room by room; 1 allowed, 0 not (the default).
ALTER TABLE cloud_rooms ADD COLUMN streaming_allowed BIGINT NOT NULL DEFAULT 0;
