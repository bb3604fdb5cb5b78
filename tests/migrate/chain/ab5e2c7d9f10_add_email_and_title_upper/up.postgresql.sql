ALTER TABLE items ADD COLUMN title_upper VARCHAR(200);
UPDATE items SET title_upper = UPPER(title);
ALTER TABLE owners ADD COLUMN email VARCHAR(200) NOT NULL DEFAULT '';
UPDATE owners SET email = name || '@example.org';
