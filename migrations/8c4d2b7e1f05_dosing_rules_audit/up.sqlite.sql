-- Columns are added in place (every new column has a default or allows
-- NULL, so no table is rebuilt and no row changes meaning: a medication's
-- window is calendar_day, the reference's rule, and every dose is taken).
ALTER TABLE medications ADD COLUMN limit_window VARCHAR(16) NOT NULL DEFAULT 'calendar_day'
    CHECK (limit_window IN ('calendar_day', 'rolling_24h'));
ALTER TABLE medications ADD COLUMN min_interval_minutes INTEGER
    CHECK (min_interval_minutes IS NULL OR min_interval_minutes BETWEEN 1 AND 10080);
ALTER TABLE medications ADD COLUMN dose_amount NUMERIC(12, 3);
ALTER TABLE medications ADD COLUMN dose_unit VARCHAR(32);
-- The status check is written with OR, not IN: SQLite builds a temporary
-- table for an IN list of three or more constants each time the check runs,
-- which made every insert and status change of a dose several times slower
-- (bench/write-compare.sh).
ALTER TABLE doses ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'taken'
    CHECK (status = 'taken' OR status = 'skipped' OR status = 'entered_in_error');
ALTER TABLE doses ADD COLUMN status_reason VARCHAR;
ALTER TABLE doses ADD COLUMN note VARCHAR;
ALTER TABLE doses ADD COLUMN recorded_by VARCHAR(255);
ALTER TABLE doses ADD COLUMN recorded_by_id INTEGER;
ALTER TABLE doses ADD COLUMN recorded_at DATETIME;
ALTER TABLE doses ADD COLUMN override_rule VARCHAR(64);
ALTER TABLE doses ADD COLUMN override_reason VARCHAR;
ALTER TABLE doses ADD COLUMN updated_at DATETIME;
-- The rule checks count a medication's taken doses of a window; doses
-- entered in error stay in the table, so the status is part of the key.
CREATE INDEX ix_doses_medication_id_status_taken_at ON doses (medication_id, status, taken_at);
CREATE TABLE medication_ingredients (
	medication_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	name_key VARCHAR(255) NOT NULL, 
	amount NUMERIC(12, 3) NOT NULL, 
	unit VARCHAR(32) NOT NULL, 
	PRIMARY KEY (medication_id, name_key), 
	FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE
);
CREATE TABLE ingredient_limits (
	id INTEGER NOT NULL, 
	person_id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	name_key VARCHAR(255) NOT NULL, 
	max_per_24h NUMERIC(12, 3) NOT NULL, 
	unit VARCHAR(32) NOT NULL, 
	created_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	updated_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (person_id, name_key), 
	FOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE
);
CREATE TABLE dose_ingredients (
	dose_id INTEGER NOT NULL, 
	name_key VARCHAR(255) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	amount NUMERIC(12, 3) NOT NULL, 
	unit VARCHAR(32) NOT NULL, 
	PRIMARY KEY (dose_id, name_key), 
	FOREIGN KEY(dose_id) REFERENCES doses (id) ON DELETE CASCADE
);
CREATE TABLE idempotency_keys (
	owner VARCHAR(80) NOT NULL, 
	idem_key VARCHAR(255) NOT NULL, 
	fingerprint VARCHAR(64) NOT NULL, 
	status INTEGER, 
	response VARCHAR, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (owner, idem_key)
);
CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);
-- The audit trail refers to nothing (no foreign keys): its rows must outlive
-- the persons, medications, doses and accounts they describe.
CREATE TABLE audit_log (
	seq INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	actor VARCHAR(255) NOT NULL, 
	actor_id INTEGER, 
	action VARCHAR(32) NOT NULL, 
	entity VARCHAR(32) NOT NULL, 
	entity_id INTEGER, 
	person_id INTEGER, 
	before_json VARCHAR, 
	after_json VARCHAR, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq)
);
-- No secondary index: every change appends a row, and each index would be
-- one more page written in the change's transaction (measured with
-- bench/api-load.sh, docs/audit.md); listings walk the trail newest first.
CREATE TABLE audit_head (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
