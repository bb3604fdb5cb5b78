CREATE TABLE IF NOT EXISTS persons (
    id INTEGER NOT NULL AUTO_INCREMENT,
    name VARCHAR(255) NOT NULL,
    date_of_birth DATE,
    notes TEXT,
    is_default BOOLEAN NOT NULL,
    created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);
INSERT INTO persons (id, name, is_default)
SELECT CASE WHEN EXISTS (SELECT 1 FROM persons WHERE id = 1)
            THEN (SELECT MAX(id) + 1 FROM persons) ELSE 1 END,
       'Default User', 1
FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM persons WHERE is_default)
  AND EXISTS (SELECT 1 FROM medications);
ALTER TABLE medications ADD COLUMN IF NOT EXISTS person_id INTEGER NOT NULL DEFAULT 1;
UPDATE medications SET person_id = (SELECT MIN(id) FROM persons WHERE is_default)
WHERE person_id <> (SELECT MIN(id) FROM persons WHERE is_default);
