DROP TABLE IF EXISTS _alembic_tmp_doses;
ALTER TABLE persons ADD COLUMN first_name VARCHAR;
ALTER TABLE persons ADD COLUMN last_name VARCHAR;
UPDATE persons SET first_name = name;
ALTER TABLE persons ALTER COLUMN first_name SET NOT NULL;
ALTER TABLE persons DROP COLUMN name;
-- Reference databases have doses.taken_at as timestamp without time zone
-- after 03586fa62d43; their naive values are UTC (docs/schema.md).
DO $$
BEGIN
    IF (SELECT data_type FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'doses'
          AND column_name = 'taken_at') = 'timestamp without time zone' THEN
        ALTER TABLE doses ALTER COLUMN taken_at TYPE timestamp with time zone
            USING taken_at AT TIME ZONE 'UTC';
    END IF;
END
$$;
ALTER TABLE doses ALTER COLUMN taken_at DROP NOT NULL;
