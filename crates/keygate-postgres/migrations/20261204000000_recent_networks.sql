-- The networks each key was used from (its /24 or /48, as CIDR text) and when last, in
-- milliseconds: the few most recent per key, kept by the usage flush.
CREATE TABLE keygate_key_networks (
    key_id TEXT NOT NULL REFERENCES keygate_keys (id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (key_id, network)
);
