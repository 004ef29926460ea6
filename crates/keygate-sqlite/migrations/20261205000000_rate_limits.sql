-- A key's own rate-limit windows, which limit it instead of its plan's: `10/1s,1000/3600s`
-- (NULL for its plan's).
ALTER TABLE keygate_keys ADD COLUMN rate_limits TEXT;
