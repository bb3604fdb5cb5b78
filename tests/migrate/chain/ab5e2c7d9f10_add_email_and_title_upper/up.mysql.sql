ALTER TABLE items ADD COLUMN IF NOT EXISTS title_upper VARCHAR(200);
UPDATE items SET title_upper = UPPER(title);
ALTER TABLE owners ADD COLUMN IF NOT EXISTS email VARCHAR(200) NOT NULL DEFAULT '';
UPDATE owners SET email = CONCAT(name, '@example.org');
