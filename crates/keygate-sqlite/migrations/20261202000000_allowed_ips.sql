-- The networks a key may be used from, as a JSON array of CIDR texts; empty for anywhere.
ALTER TABLE keygate_keys ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '[]';
