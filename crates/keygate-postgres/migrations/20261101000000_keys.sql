-- keygate key records. Times are milliseconds since the Unix epoch, UTC.
CREATE TABLE keygate_keys (
    id               TEXT PRIMARY KEY,
    hash             BYTEA NOT NULL,
    pepper_version   INTEGER NOT NULL,
    preview          TEXT NOT NULL,
    workspace_id     TEXT NOT NULL,
    user_id          TEXT,
    kind             TEXT NOT NULL,
    environment      TEXT NOT NULL,
    scopes           TEXT[] NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT,
    revoked_at       BIGINT,
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    last_used        BIGINT,
    rate_plan        TEXT,
    usage_day        BIGINT NOT NULL DEFAULT 0,
    usage_today      BIGINT NOT NULL DEFAULT 0,
    usage_month      BIGINT NOT NULL DEFAULT 0,
    usage_this_month BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX keygate_keys_owner ON keygate_keys (workspace_id, created_at, id);
CREATE INDEX keygate_keys_expiry ON keygate_keys (expires_at) WHERE expires_at IS NOT NULL;
