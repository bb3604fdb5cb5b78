-- Doses of deleted medications lose whose they were; upgrading again refills
-- person_id only for doses whose medication still exists.
DROP INDEX IF EXISTS ix_doses_person_id_taken_at;
ALTER TABLE doses DROP CONSTRAINT IF EXISTS doses_person_id_fkey;
ALTER TABLE doses DROP COLUMN IF EXISTS person_id;
