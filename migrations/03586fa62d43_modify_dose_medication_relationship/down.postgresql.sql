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
    FOREIGN KEY (medication_id) REFERENCES medications (id) ON DELETE CASCADE;
ALTER TABLE doses DROP COLUMN medication_name;
