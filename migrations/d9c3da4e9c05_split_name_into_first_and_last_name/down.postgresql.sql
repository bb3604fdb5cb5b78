ALTER TABLE persons ADD COLUMN name VARCHAR;
UPDATE persons SET name = CASE WHEN last_name IS NULL OR last_name = '' THEN first_name
                               ELSE first_name || ' ' || last_name END;
ALTER TABLE persons ALTER COLUMN name SET NOT NULL;
ALTER TABLE persons DROP COLUMN last_name;
ALTER TABLE persons DROP COLUMN first_name;
