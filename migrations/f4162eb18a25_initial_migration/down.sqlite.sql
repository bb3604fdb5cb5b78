DROP INDEX IF EXISTS ix_doses_id;
DROP TABLE doses;
DROP INDEX IF EXISTS ix_medications_id;
DROP TABLE medications;
