ALTER TABLE doses ADD COLUMN medication_name VARCHAR;
UPDATE doses SET medication_name = m.name FROM medications m WHERE m.id = doses.medication_id;
-- The reference dropped the constraint by its generated name
-- (doses_medication_id_fkey); drop whatever foreign key doses has instead.
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
ALTER TABLE doses ALTER COLUMN medication_id DROP NOT NULL;
ALTER TABLE doses ADD CONSTRAINT doses_medication_id_fkey
    FOREIGN KEY (medication_id) REFERENCES medications (id) ON DELETE SET NULL;
