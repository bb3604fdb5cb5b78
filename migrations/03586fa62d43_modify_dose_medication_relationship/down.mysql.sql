ALTER TABLE doses DROP FOREIGN KEY IF EXISTS doses_medication_id_fkey;
ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey FOREIGN KEY IF NOT EXISTS (medication_id)
    REFERENCES medications (id) ON DELETE CASCADE;
ALTER TABLE doses DROP COLUMN IF EXISTS medication_name;
