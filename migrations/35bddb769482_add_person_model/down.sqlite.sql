ALTER TABLE medications DROP COLUMN person_id;
DROP INDEX IF EXISTS ix_persons_id;
DROP TABLE persons;
