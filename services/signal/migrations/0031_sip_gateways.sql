-- The latest report of every SIP gateway (issue 11): its calls against its
-- capacity, written by whichever replica the report reached, and the drain
-- mark the operator sets before it removes the gateway's pod.
CREATE TABLE sip_gateways (
    gateway_id TEXT PRIMARY KEY,
    control_url TEXT NOT NULL,
    calls BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    draining BIGINT NOT NULL,
    drain_marked BIGINT NOT NULL DEFAULT 0,
    seen_at_ms BIGINT NOT NULL
);
