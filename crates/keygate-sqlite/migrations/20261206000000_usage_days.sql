-- Each key's requests per UTC day (days since the epoch), kept by the usage flush: what a key's
-- usage chart draws.
CREATE TABLE keygate_key_usage_days (
    key_id TEXT NOT NULL REFERENCES keygate_keys (id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (key_id, day)
);
