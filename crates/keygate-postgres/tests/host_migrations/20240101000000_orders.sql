-- A host application's own table, migrated by its own sqlx Migrator.
CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, total BIGINT NOT NULL);
