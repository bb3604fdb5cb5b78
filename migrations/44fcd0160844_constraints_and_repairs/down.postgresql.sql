DROP INDEX IF EXISTS ix_doses_medication_id_taken_at;
DROP INDEX IF EXISTS ix_medications_person_id;
ALTER TABLE medications DROP CONSTRAINT IF EXISTS medications_person_id_fkey;
ALTER TABLE medications ALTER COLUMN person_id SET DEFAULT 1;
