-- A key's credits: the balance left (NULL for unlimited), its refill as text (`daily:N`,
-- `monthly:N`, `monthly@DAY:N`) and when the refill is next due, in milliseconds.
ALTER TABLE keygate_keys ADD COLUMN credits_remaining INTEGER;
ALTER TABLE keygate_keys ADD COLUMN credits_refill TEXT;
ALTER TABLE keygate_keys ADD COLUMN credits_refills_at INTEGER;
