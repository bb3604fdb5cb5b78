ALTER TABLE persons ADD COLUMN IF NOT EXISTS name VARCHAR(255) AFTER id;
UPDATE persons SET name = CASE WHEN last_name IS NULL OR last_name = '' THEN first_name
                               ELSE CONCAT(first_name, ' ', last_name) END
WHERE name IS NULL;
ALTER TABLE persons MODIFY name VARCHAR(255) NOT NULL;
ALTER TABLE persons DROP COLUMN IF EXISTS last_name;
ALTER TABLE persons DROP COLUMN IF EXISTS first_name;
