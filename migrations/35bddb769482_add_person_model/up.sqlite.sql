CREATE TABLE IF NOT EXISTS persons (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	date_of_birth DATE, 
	notes VARCHAR, 
	is_default BOOLEAN NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP, 
	updated_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);
-- The medications get a default person: id 1 unless that id is taken (the
-- reference always used 1). An empty database gets none here: creating the
-- first person is the seeding's job (SEED_ON_EMPTY), see docs/schema.md.
INSERT INTO persons (id, name, is_default, created_at)
SELECT CASE WHEN EXISTS (SELECT 1 FROM persons WHERE id = 1)
            THEN (SELECT MAX(id) + 1 FROM persons) ELSE 1 END,
       'Default User', 1, CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM persons WHERE is_default)
  AND EXISTS (SELECT 1 FROM medications);
-- SQLite cannot add a foreign key with ALTER TABLE; the reference left it out
-- too. 44fcd0160844 adds it.
ALTER TABLE medications ADD COLUMN person_id INTEGER DEFAULT '1' NOT NULL;
UPDATE medications SET person_id = (SELECT MIN(id) FROM persons WHERE is_default)
WHERE person_id <> (SELECT MIN(id) FROM persons WHERE is_default);
