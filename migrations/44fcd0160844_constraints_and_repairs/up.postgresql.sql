DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conname FROM pg_constraint
             WHERE contype = 'f' AND conrelid = 'medications'::regclass
    LOOP
        EXECUTE format('ALTER TABLE medications DROP CONSTRAINT %I', r.conname);
    END LOOP;
END
$$;
ALTER TABLE medications ALTER COLUMN person_id DROP DEFAULT;
ALTER TABLE medications ADD CONSTRAINT medications_person_id_fkey
    FOREIGN KEY (person_id) REFERENCES persons (id) ON DELETE CASCADE;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT conname FROM pg_constraint
             WHERE contype = 'f' AND conrelid = 'doses'::regclass
    LOOP
        EXECUTE format('ALTER TABLE doses DROP CONSTRAINT %I', r.conname);
    END LOOP;
END
$$;
ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey
    FOREIGN KEY (medication_id) REFERENCES medications (id) ON DELETE SET NULL;
ALTER TABLE doses ALTER COLUMN taken_at SET DEFAULT CURRENT_TIMESTAMP;
CREATE INDEX IF NOT EXISTS ix_medications_person_id ON medications (person_id);
CREATE INDEX IF NOT EXISTS ix_doses_medication_id_taken_at ON doses (medication_id, taken_at);
-- Tables made by the reference's create_all had no index on id.
CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);
CREATE INDEX IF NOT EXISTS ix_medications_id ON medications (id);
CREATE INDEX IF NOT EXISTS ix_doses_id ON doses (id);
