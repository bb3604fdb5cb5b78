-- Every statement may be re-run after an interruption, and on a database
-- that already has the column (one taken over at head is stamped
-- 44fcd0160844 and runs this again): the medication decides whose a linked
-- dose is, a dose of a deleted medication keeps what it has. The index comes
-- before the foreign key, which then uses it instead of making its own.
ALTER TABLE doses ADD COLUMN IF NOT EXISTS person_id INTEGER NULL;
UPDATE doses JOIN medications ON medications.id = doses.medication_id
SET doses.person_id = medications.person_id
WHERE NOT (doses.person_id <=> medications.person_id);
CREATE INDEX IF NOT EXISTS ix_doses_person_id_taken_at ON doses (person_id, taken_at);
ALTER TABLE doses ADD CONSTRAINT doses_person_id_fkey FOREIGN KEY IF NOT EXISTS (person_id)
    REFERENCES persons (id) ON DELETE CASCADE;
