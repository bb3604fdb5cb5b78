-- Doses of deleted medications lose whose they were; upgrading again refills
-- person_id only for doses whose medication still exists. The key goes
-- before its index; an index InnoDB made for the key by itself goes too.
ALTER TABLE doses DROP FOREIGN KEY IF EXISTS doses_person_id_fkey;
DROP INDEX IF EXISTS ix_doses_person_id_taken_at ON doses;
DROP INDEX IF EXISTS doses_person_id_fkey ON doses;
ALTER TABLE doses DROP COLUMN IF EXISTS person_id;
