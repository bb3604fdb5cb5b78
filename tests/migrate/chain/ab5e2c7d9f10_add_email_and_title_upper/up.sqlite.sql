ALTER TABLE items ADD COLUMN title_upper VARCHAR(200);
UPDATE items SET title_upper = UPPER(title);
-- Rebuild owners with a NOT NULL column filled from existing data.
CREATE TABLE owners_new (
    id INTEGER NOT NULL,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(200) NOT NULL DEFAULT '',
    PRIMARY KEY (id)
);
INSERT INTO owners_new (id, name, email) SELECT id, name, name || '@example.org' FROM owners;
DROP TABLE owners;
ALTER TABLE owners_new RENAME TO owners;
