-- keygate key records. Times are milliseconds since the Unix epoch, UTC; scopes are a JSON
-- array of strings. STRICT: a value of the wrong type is refused when written.
CREATE TABLE keygate_keys (
    id               TEXT NOT NULL PRIMARY KEY,
    hash             BLOB NOT NULL,
    pepper_version   INTEGER NOT NULL,
    preview          TEXT NOT NULL,
    workspace_id     TEXT NOT NULL,
    user_id          TEXT,
    kind             TEXT NOT NULL,
    environment      TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    revoked_at       INTEGER,
    disabled         INTEGER NOT NULL DEFAULT 0,
    last_used        INTEGER,
    rate_plan        TEXT,
    usage_day        INTEGER NOT NULL DEFAULT 0,
    usage_today      INTEGER NOT NULL DEFAULT 0,
    usage_month      INTEGER NOT NULL DEFAULT 0,
    usage_this_month INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX keygate_keys_owner ON keygate_keys (workspace_id, created_at, id);
CREATE INDEX keygate_keys_expiry ON keygate_keys (expires_at) WHERE expires_at IS NOT NULL;
