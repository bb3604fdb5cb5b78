-- Drops what 8c4d2b7e1f05 added: the audit trail, the idempotency keys,
-- ingredients and their limits, and the new columns. Doses that were
-- skipped or entered in error become plain doses again, so they are
-- deleted first: the reference's schema has no way to say they were not
-- taken.
DROP TABLE IF EXISTS audit_head;
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS dose_ingredients;
DROP TABLE IF EXISTS ingredient_limits;
DROP TABLE IF EXISTS medication_ingredients;
DELETE FROM doses WHERE status <> 'taken';
DROP INDEX IF EXISTS ix_doses_medication_id_status_taken_at;
ALTER TABLE doses DROP COLUMN updated_at;
ALTER TABLE doses DROP COLUMN override_reason;
ALTER TABLE doses DROP COLUMN override_rule;
ALTER TABLE doses DROP COLUMN recorded_at;
ALTER TABLE doses DROP COLUMN recorded_by_id;
ALTER TABLE doses DROP COLUMN recorded_by;
ALTER TABLE doses DROP COLUMN note;
ALTER TABLE doses DROP COLUMN status_reason;
ALTER TABLE doses DROP COLUMN status;
ALTER TABLE medications DROP COLUMN dose_unit;
ALTER TABLE medications DROP COLUMN dose_amount;
ALTER TABLE medications DROP COLUMN min_interval_minutes;
ALTER TABLE medications DROP COLUMN limit_window;
