-- The latest report of every worker of a pool that reports to signal (the
-- SIP gateways, and now the recorders): its work against its capacity,
-- written by whichever replica the report reached, and the drain mark the
-- operator sets before it removes the worker's pod. Replaces sip_gateways,
-- whose rows are reports a few seconds old that the gateways send again.
DROP TABLE sip_gateways;
CREATE TABLE workers (
    pool TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    control_url TEXT NOT NULL,
    in_progress BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    draining BIGINT NOT NULL,
    drain_marked BIGINT NOT NULL DEFAULT 0,
    seen_at_ms BIGINT NOT NULL,
    PRIMARY KEY (pool, worker_id)
);
