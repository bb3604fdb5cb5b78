ALTER TABLE owners DROP COLUMN email;
ALTER TABLE items DROP COLUMN title_upper;
