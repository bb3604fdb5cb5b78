DO $$
DECLARE
    t text;
    seq text;
    maxid bigint;
    nextid bigint;
    called boolean;
BEGIN
    FOREACH t IN ARRAY ARRAY['persons', 'medications', 'doses'] LOOP
        seq := pg_get_serial_sequence(t, 'id');
        IF seq IS NULL THEN
            seq := quote_ident(t || '_id_seq');
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %s AS integer', seq);
            EXECUTE format('ALTER SEQUENCE %s OWNED BY %I.id', seq, t);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN id SET DEFAULT nextval(%L::regclass)',
                           t, seq);
            seq := pg_get_serial_sequence(t, 'id');
        END IF;
        EXECUTE format('SELECT MAX(id) FROM %I', t) INTO maxid;
        EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO nextid, called;
        IF called THEN
            nextid := nextid + 1;
        END IF;
        IF maxid IS NOT NULL AND nextid <= maxid THEN
            PERFORM setval(seq, maxid, true);
        END IF;
    END LOOP;
END
$$;
