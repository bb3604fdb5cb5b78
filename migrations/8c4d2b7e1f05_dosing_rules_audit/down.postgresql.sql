-- Drops what 8c4d2b7e1f05 added: the audit trail, the idempotency keys,
-- ingredients and their limits, and the new columns. Doses that were
-- skipped or entered in error are deleted first: the reference's schema has
-- no way to say they were not taken.
DROP TABLE IF EXISTS audit_head;
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS dose_ingredients;
DROP TABLE IF EXISTS ingredient_limits;
DROP TABLE IF EXISTS medication_ingredients;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'doses' AND column_name = 'status') THEN
        DELETE FROM doses WHERE status <> 'taken';
    END IF;
END
$$;
DROP INDEX IF EXISTS ix_doses_medication_id_status_taken_at;
ALTER TABLE doses
    DROP COLUMN IF EXISTS updated_at,
    DROP COLUMN IF EXISTS override_reason,
    DROP COLUMN IF EXISTS override_rule,
    DROP COLUMN IF EXISTS recorded_at,
    DROP COLUMN IF EXISTS recorded_by_id,
    DROP COLUMN IF EXISTS recorded_by,
    DROP COLUMN IF EXISTS note,
    DROP COLUMN IF EXISTS status_reason,
    DROP COLUMN IF EXISTS status;
ALTER TABLE medications
    DROP COLUMN IF EXISTS dose_unit,
    DROP COLUMN IF EXISTS dose_amount,
    DROP COLUMN IF EXISTS min_interval_minutes,
    DROP COLUMN IF EXISTS limit_window;
