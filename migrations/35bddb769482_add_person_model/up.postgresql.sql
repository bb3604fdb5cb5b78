CREATE TABLE IF NOT EXISTS persons (
    id SERIAL NOT NULL,
    name VARCHAR NOT NULL,
    date_of_birth DATE,
    notes VARCHAR,
    is_default BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);
INSERT INTO persons (id, name, is_default)
SELECT CASE WHEN EXISTS (SELECT 1 FROM persons WHERE id = 1)
            THEN (SELECT MAX(id) + 1 FROM persons) ELSE 1 END,
       'Default User', true
WHERE NOT EXISTS (SELECT 1 FROM persons WHERE is_default)
  AND EXISTS (SELECT 1 FROM medications);
-- The reference inserted id 1 without advancing the sequence, so the first
-- person created through the API failed; keep the sequence past the rows.
SELECT setval(pg_get_serial_sequence('persons', 'id'), MAX(id)) FROM persons HAVING MAX(id) IS NOT NULL;
ALTER TABLE medications ADD COLUMN IF NOT EXISTS person_id INTEGER NOT NULL DEFAULT 1;
UPDATE medications SET person_id = (SELECT MIN(id) FROM persons WHERE is_default)
WHERE person_id <> (SELECT MIN(id) FROM persons WHERE is_default);
