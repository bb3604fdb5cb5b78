ALTER TABLE doses ADD COLUMN IF NOT EXISTS medication_name VARCHAR(255) AFTER medication_id;
UPDATE doses JOIN medications ON medications.id = doses.medication_id
SET doses.medication_name = medications.name
WHERE doses.medication_name IS NULL;
ALTER TABLE doses DROP FOREIGN KEY IF EXISTS doses_medication_id_fkey;
ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey FOREIGN KEY IF NOT EXISTS (medication_id)
    REFERENCES medications (id) ON DELETE SET NULL;
