-- A host application's own table, migrated by its own sqlx Migrator.
CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL);
