-- InnoDB may have let the daily index stand in for the index of the doses
-- foreign key: give the key its own index before the daily one goes.
CREATE INDEX IF NOT EXISTS doses_medication_id_fkey ON doses (medication_id);
DROP INDEX IF EXISTS ix_doses_medication_id_taken_at ON doses;
ALTER TABLE medications DROP FOREIGN KEY IF EXISTS medications_person_id_fkey;
DROP INDEX IF EXISTS ix_medications_person_id ON medications;
ALTER TABLE medications ALTER COLUMN person_id SET DEFAULT 1;
