-- The terms a key carries: metadata (a JSON object, as compact text).
ALTER TABLE keygate_keys ADD COLUMN metadata TEXT;
