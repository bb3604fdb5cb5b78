-- Safe to run on a database that already has the column (one taken over at
-- head is stamped 44fcd0160844 and runs this again): the medication decides
-- whose a linked dose is, a dose of a deleted medication keeps what it has.
ALTER TABLE doses ADD COLUMN IF NOT EXISTS person_id INTEGER;
UPDATE doses SET person_id = m.person_id FROM medications m
WHERE m.id = doses.medication_id AND doses.person_id IS DISTINCT FROM m.person_id;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conname FROM pg_constraint
             WHERE contype = 'f' AND conrelid = 'doses'::regclass
               AND confrelid = 'persons'::regclass
    LOOP
        EXECUTE format('ALTER TABLE doses DROP CONSTRAINT %I', r.conname);
    END LOOP;
END
$$;
ALTER TABLE doses ADD CONSTRAINT doses_person_id_fkey
    FOREIGN KEY (person_id) REFERENCES persons (id) ON DELETE CASCADE;
CREATE INDEX IF NOT EXISTS ix_doses_person_id_taken_at ON doses (person_id, taken_at);
