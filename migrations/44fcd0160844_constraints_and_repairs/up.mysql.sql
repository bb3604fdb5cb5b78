-- Every statement may be re-run after an interruption (IF [NOT] EXISTS,
-- MODIFY to a fixed definition).
CREATE INDEX IF NOT EXISTS ix_medications_person_id ON medications (person_id);
ALTER TABLE medications ALTER COLUMN person_id DROP DEFAULT;
ALTER TABLE medications ADD CONSTRAINT medications_person_id_fkey FOREIGN KEY IF NOT EXISTS (person_id)
    REFERENCES persons (id) ON DELETE CASCADE;
ALTER TABLE doses DROP FOREIGN KEY IF EXISTS doses_medication_id_fkey;
ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey FOREIGN KEY IF NOT EXISTS (medication_id)
    REFERENCES medications (id) ON DELETE SET NULL;
ALTER TABLE doses MODIFY taken_at DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6);
CREATE INDEX IF NOT EXISTS ix_doses_medication_id_taken_at ON doses (medication_id, taken_at);
-- The daily index serves the doses foreign key; an index of its own made by
-- a downgrade would only duplicate it.
DROP INDEX IF EXISTS doses_medication_id_fkey ON doses;
-- Tables made by the reference's create_all had no index on id.
CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);
CREATE INDEX IF NOT EXISTS ix_medications_id ON medications (id);
CREATE INDEX IF NOT EXISTS ix_doses_id ON doses (id);
